"""The report every renderer reads: the series, its findings, and the sections later stages add."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewtool import __version__
from reviewtool.findings import (
    Finding,
    Rule,
    Severity,
    count_by_severity,
    sort_findings,
)
from reviewtool.intake.series import Series

if TYPE_CHECKING:
    from reviewtool.analysis.treeaudit import TreeAudit
    from reviewtool.kbuild.builder import BuildResult

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Report:
    sources: tuple[str, ...]
    series: Series
    findings: tuple[Finding, ...]
    rules: tuple[Rule, ...]
    tool_version: str = __version__
    tree: TreeAudit | None = None
    builds: BuildResult | None = None

    @property
    def counts(self) -> dict[Severity, int]:
        return count_by_severity(self.findings)

    def findings_for(self, patch: int | None) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.patch == patch)


def make_report(
    sources: tuple[str, ...],
    series: Series,
    findings: list[Finding],
    rules: tuple[Rule, ...],
    tree: TreeAudit | None = None,
    builds: BuildResult | None = None,
) -> Report:
    return Report(
        sources=sources,
        series=series,
        findings=sort_findings(findings),
        rules=rules,
        tree=tree,
        builds=builds,
    )
