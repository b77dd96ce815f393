"""Findings: typed, frozen, ordered records that every analysis stage produces."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    """How serious a finding is; ordered error > warning > note."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.ERROR: 3, Severity.WARNING: 2, Severity.NOTE: 1}


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file of the tree (after the series), with an optional note."""

    path: str
    line: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Rule:
    """A rule's identity and documentation, listed by `reviewtool rules` and in SARIF."""

    id: str
    severity: Severity
    summary: str


@dataclass(frozen=True)
class Finding:
    """One thing a reviewer should look at.

    `key` is the normalized content the finding is about (an added line, a trailer, an
    expression); with rule, path and function it makes a fingerprint that survives line shifts.
    """

    rule: str
    severity: Severity
    message: str
    patch: int | None = None
    path: str | None = None
    line: int | None = None
    column: int | None = None
    function: str | None = None
    key: str = ""
    evidence: tuple[Location, ...] = field(default=())
    # The source lines around the place, each a Location whose note is the line's text, when
    # the place is in the tree rather than in a line the patch shows.
    context: tuple[Location, ...] = field(default=())
    # Further places the same cause reaches (a root cause's other uses), beside the path.
    related: tuple[Location, ...] = field(default=())

    @property
    def fingerprint(self) -> str:
        normalized = re.sub(r"\s+", " ", self.key).strip()
        text = "\0".join((self.rule, self.path or "", self.function or "", normalized))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]

    def sort_key(self) -> tuple[int, int, str, int, int, str, str]:
        return (
            -1 if self.patch is None else self.patch,
            -self.severity.rank,
            self.path or "",
            self.line or 0,
            self.column or 0,
            self.rule,
            self.message,
        )


def sort_findings(findings: list[Finding] | tuple[Finding, ...]) -> tuple[Finding, ...]:
    """Series-level findings first, then by patch, severity, place and rule."""
    return tuple(sorted(findings, key=Finding.sort_key))


def count_by_severity(findings: tuple[Finding, ...]) -> dict[Severity, int]:
    counts = dict.fromkeys(Severity, 0)
    for finding in findings:
        counts[finding.severity] += 1
    return counts
