"""exit_code: the exit status --fail-on gives, shared by every command."""

from __future__ import annotations

import pytest

from reviewtool.cli.common import exit_code
from reviewtool.cli.options import FailOn
from reviewtool.errors import ExitCode
from reviewtool.findings import Finding, Severity

WARNING = Finding("a-warning", Severity.WARNING, "w")


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [
        (FailOn.error, ExitCode.OK),
        (FailOn.warning, ExitCode.FINDINGS),
        (FailOn.note, ExitCode.FINDINGS),
        (FailOn.never, ExitCode.OK),
    ],
)
def test_exit_code_fails_at_or_above_fail_on(fail_on: FailOn, expected: int) -> None:
    assert exit_code([WARNING], fail_on) == expected


@pytest.mark.parametrize("fail_on", list(FailOn))
def test_exit_code_without_findings_is_ok(fail_on: FailOn) -> None:
    assert exit_code([], fail_on) == ExitCode.OK


def test_fail_on_names_its_severity() -> None:
    assert [f.severity for f in FailOn] == [Severity.ERROR, Severity.WARNING, Severity.NOTE, None]
