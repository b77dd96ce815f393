"""The renderer table (reviewtool.render): every format renders a report; the tests of each
format are in tests/render/test_<format>.py."""

from __future__ import annotations

from reviewtool.render import FORMATTERS, render
from reviewtool.report import Report


def test_every_format_renders(report: Report) -> None:
    for name in FORMATTERS:
        assert render(report, name).endswith("\n")
