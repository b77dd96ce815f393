"""Findings: the fail-on threshold (at_or_above) and the one serialisation (to and from dict)."""

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


def test_a_finding_survives_its_serialisation_with_every_field() -> None:
    import json

    from reviewtool.findings import BuildFacts, Location, finding_from_dict, finding_to_dict

    finding = Finding(
        rule="build",
        severity=Severity.ERROR,
        message="arm64 (gcc): error: 'PMD_TABLE_BIT' undeclared",
        patch=2,
        path="arch/arm64/mm/hugetlbpage.c",
        line=71,
        column=9,
        function="pmd_huge",
        key="arm64|arch/arm64/mm/hugetlbpage.c|pmd_huge||error: ...",
        evidence=(Location("arch/arm64/mm/hugetlbpage.c", 71, "here"),),
        context=(Location("arch/arm64/mm/hugetlbpage.c", 70, "\tif (x)"),),
        related=(Location("mm/hugetlb.c", 5, "further use"),),
        build=BuildFacts(
            "arm64",
            "gcc 12",
            ("arch/arm64/mm/hugetlbpage.c", "pmd_huge", "", "error: 'PMD_TABLE_BIT' undeclared"),
            "make ARCH=arm64 arch/arm64/mm/hugetlbpage.o",
        ),
    )
    data = json.loads(json.dumps(finding_to_dict(finding)))
    assert data["fingerprint"] == finding.fingerprint
    assert data["context"] == [
        {"path": "arch/arm64/mm/hugetlbpage.c", "line": 70, "text": "\tif (x)"}
    ]
    assert finding_from_dict(data) == finding
    plain = Finding("signoff-missing", Severity.ERROR, "no Signed-off-by", patch=1)
    assert "build" not in finding_to_dict(plain)
    assert finding_from_dict(finding_to_dict(plain)) == plain


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"rule": "x", "severity": "fatal", "message": "m"},
        {"rule": "x", "severity": "note", "message": 3},
        {"rule": "x", "severity": "note", "message": "m", "line": "12"},
        {"rule": "x", "severity": "note", "message": "m", "evidence": [{"line": 1}]},
        {"rule": "x", "severity": "note", "message": "m", "build": {"arch": "arm64"}},
        {"rule": "x", "severity": "note", "message": "m", "related": "not a list"},
    ],
)
def test_a_malformed_finding_is_a_value_error(broken: dict[str, object]) -> None:
    from reviewtool.findings import finding_from_dict

    with pytest.raises(ValueError):
        finding_from_dict(broken)
