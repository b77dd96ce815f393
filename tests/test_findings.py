"""at_or_above: the one computation of which findings reach a severity threshold."""

from __future__ import annotations

import pytest

from reviewtool.findings import Finding, Severity, at_or_above

NOTE = Finding("a-note", Severity.NOTE, "n")
WARNING = Finding("a-warning", Severity.WARNING, "w")
ERROR = Finding("an-error", Severity.ERROR, "e")


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (Severity.ERROR, (ERROR,)),
        (Severity.WARNING, (WARNING, ERROR)),
        (Severity.NOTE, (NOTE, WARNING, ERROR)),
        (None, ()),
    ],
)
def test_at_or_above_keeps_the_findings_reaching_the_threshold_in_order(
    threshold: Severity | None, expected: tuple[Finding, ...]
) -> None:
    assert at_or_above([NOTE, WARNING, ERROR], threshold) == expected


def test_at_or_above_reads_any_iterable_once() -> None:
    assert at_or_above(iter([ERROR, NOTE, ERROR]), Severity.ERROR) == (ERROR, ERROR)
    assert at_or_above([], Severity.NOTE) == ()
