"""Findings: typed, frozen, ordered records that every analysis stage produces."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


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


class RuleKind(str, Enum):
    """Which stage a rule belongs to: the series itself, applying it to a tree, a call-site
    contract audited tree-wide, or the builds."""

    SERIES = "series"
    TREE = "tree"
    CONTRACT = "contract"
    BUILD = "build"


@dataclass(frozen=True)
class Rule:
    """A rule's identity and documentation, listed by `reviewtool rules` and in SARIF."""

    id: str
    severity: Severity
    summary: str
    kind: RuleKind = RuleKind.SERIES


@dataclass(frozen=True)
class BuildFacts:
    """What a build finding is about, as fields: the cell it came from, the compiler's
    diagnostic identity (path, function, flag, message without line numbers) and the command
    that reproduces it."""

    arch: str
    toolchain: str
    diagnostic: tuple[str, ...]
    reproduce: str = ""


@dataclass(frozen=True)
class Inferred:
    """Where an inferred contract comes from: the patch that changes the function, the
    function and its file, and what the change is."""

    patch: int
    function: str
    path: str
    change: str


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
    build: BuildFacts | None = None
    inferred: Inferred | None = None  # set for findings of a contract inferred from the series

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


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """The one serialisation of a finding: the JSON report's, the merge's and the hook's."""
    data: dict[str, Any] = {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "patch": finding.patch,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "function": finding.function,
        "fingerprint": finding.fingerprint,
        "key": finding.key,
        "evidence": [_location(e, "note") for e in finding.evidence],
        "context": [_location(c, "text") for c in finding.context],
        "related": [_location(r, "note") for r in finding.related],
    }
    if finding.build is not None:
        data["build"] = {
            "arch": finding.build.arch,
            "toolchain": finding.build.toolchain,
            "diagnostic": list(finding.build.diagnostic),
            "reproduce": finding.build.reproduce,
        }
    if finding.inferred is not None:
        data["inferred"] = {
            "patch": finding.inferred.patch,
            "function": finding.inferred.function,
            "path": finding.inferred.path,
            "change": finding.inferred.change,
        }
    return data


def finding_from_dict(data: dict[str, Any]) -> Finding:
    """The finding finding_to_dict() wrote (the fingerprint is derived, not read).

    Raises ValueError when data is not such a finding."""
    try:
        build = data.get("build")
        inferred = data.get("inferred")
        return Finding(
            rule=_text(data["rule"]),
            severity=Severity(data["severity"]),
            message=_text(data["message"]),
            patch=_number(data.get("patch")),
            path=_optional_text(data.get("path")),
            line=_number(data.get("line")),
            column=_number(data.get("column")),
            function=_optional_text(data.get("function")),
            key=_text(data.get("key", "")),
            evidence=tuple(_from_location(e, "note") for e in data.get("evidence", [])),
            context=tuple(_from_location(c, "text") for c in data.get("context", [])),
            related=tuple(_from_location(r, "note") for r in data.get("related", [])),
            build=None
            if build is None
            else BuildFacts(
                arch=_text(build["arch"]),
                toolchain=_text(build["toolchain"]),
                diagnostic=tuple(_text(part) for part in build["diagnostic"]),
                reproduce=_text(build.get("reproduce", "")),
            ),
            inferred=None
            if inferred is None
            else Inferred(
                patch=int(inferred["patch"]),
                function=_text(inferred["function"]),
                path=_text(inferred["path"]),
                change=_text(inferred["change"]),
            ),
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not a finding: {error!r}") from None


def _location(location: Location, note: str) -> dict[str, Any]:
    return {"path": location.path, "line": location.line, note: location.note}


def _from_location(data: dict[str, Any], note: str) -> Location:
    return Location(_text(data["path"]), _number(data.get("line")), _text(data.get(note, "")))


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _number(value: object) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(f"{value!r} is not an integer")
    return value


def sort_findings(findings: list[Finding] | tuple[Finding, ...]) -> tuple[Finding, ...]:
    """Series-level findings first, then by patch, severity, place and rule."""
    return tuple(sorted(findings, key=Finding.sort_key))


def count_by_severity(findings: tuple[Finding, ...]) -> dict[Severity, int]:
    counts = dict.fromkeys(Severity, 0)
    for finding in findings:
        counts[finding.severity] += 1
    return counts


def at_or_above(findings: Iterable[Finding], threshold: Severity | None) -> tuple[Finding, ...]:
    """The findings at or above threshold, in their order; none when threshold is None (a run
    that never fails)."""
    if threshold is None:
        return ()
    return tuple(f for f in findings if f.severity.rank >= threshold.rank)
