"""Wording shared by the human-readable renderers."""

from __future__ import annotations

from reviewtool.findings import Finding, Severity
from reviewtool.report import Report


def headline(report: Report) -> str:
    series = report.series
    cover = "with cover letter" if series.cover else "no cover letter"
    return (
        f"v{series.revision}, {len(series.patches)} of {series.expected} patches, {cover}, "
        f"{len(series.files)} files, "
        f"+{sum(p.insertions for p in series.patches)} "
        f"-{sum(p.deletions for p in series.patches)}"
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def totals(report: Report) -> str:
    counts = report.counts
    if not report.findings:
        return "no findings"
    return ", ".join(plural(counts[s], s.value) for s in Severity if counts[s])


def place(finding: Finding) -> str:
    if finding.path is None:
        return ""
    return f"{finding.path}:{finding.line}" if finding.line else finding.path


def patch_label(report: Report, number: int | None) -> str:
    if number is None:
        return "series"
    if number == 0:
        return "cover"
    return f"{number}/{report.series.expected}"
