"""The report: make_report orders the findings as Finding.sort_key says (series-level first,
then by patch, severity, place, rule and message), counts them and finds a patch's own."""

from __future__ import annotations

import random

import pytest

from reviewtool import __version__
from reviewtool.analysis.checks import RULES
from reviewtool.findings import Finding, Severity
from reviewtool.intake.mail import Source, read_sources
from reviewtool.intake.series import Series, build_series
from reviewtool.report import Report, make_report
from tests.conftest import FIXTURES

DEMO = FIXTURES / "demo" / "demo.mbox"

# In the order make_report must give them: the series-level finding, the cover's, then each
# patch's by severity, path (none first), line, column, rule and message.
ORDERED = (
    Finding("series-ignored-message", Severity.NOTE, "a reply", patch=None),
    Finding("series-no-cover", Severity.WARNING, "z", patch=0),
    Finding("series-no-cover", Severity.NOTE, "a", patch=0),
    Finding("signoff-missing", Severity.ERROR, "no Signed-off-by: line", patch=1),
    Finding("whitespace-trailing", Severity.WARNING, "t", patch=1),
    Finding("whitespace-trailing", Severity.WARNING, "t", patch=1, path="a.c", line=9),
    Finding("whitespace-trailing", Severity.WARNING, "t", patch=1, path="b.c", line=1),
    Finding("whitespace-trailing", Severity.WARNING, "t", patch=1, path="b.c", line=2),
    Finding("whitespace-trailing", Severity.WARNING, "t", patch=1, path="b.c", line=2, column=1),
    Finding("whitespace-trailing", Severity.WARNING, "t", patch=1, path="b.c", line=2, column=5),
    Finding("whitespace-trailing", Severity.WARNING, "u", patch=1, path="b.c", line=2, column=5),
    Finding("zz-rule", Severity.WARNING, "a", patch=1, path="b.c", line=2, column=5),
    Finding("apply-fuzzy", Severity.NOTE, "applied by 3-way merge", patch=1),
    Finding("fixes-malformed", Severity.WARNING, "Fixes: 'c397122c'", patch=3),
)


@pytest.fixture(scope="module")
def demo_series() -> Series:
    return build_series(read_sources([Source("demo.mbox", DEMO)]))


def _report(series: Series, findings: list[Finding]) -> Report:
    return make_report(("demo.mbox",), series, findings, tuple(RULES.values()))


@pytest.mark.parametrize("seed", range(5))
def test_make_report_sorts_the_findings_by_their_sort_key(demo_series: Series, seed: int) -> None:
    shuffled = list(ORDERED)
    random.Random(seed).shuffle(shuffled)
    report = _report(demo_series, shuffled)
    assert report.findings == ORDERED
    assert report.findings == tuple(sorted(shuffled, key=Finding.sort_key))


def test_make_report_keeps_what_it_is_given(demo_series: Series) -> None:
    report = _report(demo_series, [])
    assert report.sources == ("demo.mbox",)
    assert report.series is demo_series
    assert report.rules == tuple(RULES.values())
    assert report.tool_version == __version__
    assert report.tree is None and report.builds is None
    assert report.findings == ()


def test_counts_name_every_severity(demo_series: Series) -> None:
    assert _report(demo_series, list(ORDERED)).counts == {
        Severity.ERROR: 1,
        Severity.WARNING: 10,
        Severity.NOTE: 3,
    }
    assert _report(demo_series, []).counts == dict.fromkeys(Severity, 0)
    assert list(_report(demo_series, []).counts) == [
        Severity.ERROR,
        Severity.WARNING,
        Severity.NOTE,
    ]


def test_findings_for_a_patch_the_cover_or_the_series(demo_series: Series) -> None:
    report = _report(demo_series, list(reversed(ORDERED)))
    assert report.findings_for(None) == ORDERED[:1]
    assert report.findings_for(0) == ORDERED[1:3]
    assert report.findings_for(1) == ORDERED[3:-1]
    assert report.findings_for(3) == ORDERED[-1:]
    assert report.findings_for(2) == ()


def test_the_engine_reports_through_make_report(demo_series: Series) -> None:
    from reviewtool.review import AuditOptions, run

    report = run([Source("demo.mbox", DEMO)], AuditOptions())
    again = _report(demo_series, list(reversed(report.findings)))
    assert again.findings == report.findings
    assert [(f.rule, f.patch) for f in report.findings] == [
        ("whitespace-trailing", 2),
        ("fixes-malformed", 3),
        ("signoff-author-mismatch", 3),
    ]
