"""Merging JSON reports of shards (one `--arch` each) of the same series into one report."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewtool.errors import InputError
from reviewtool.findings import (
    Finding,
    Rule,
    RuleKind,
    finding_from_dict,
    finding_to_dict,
    sort_findings,
)
from reviewtool.intake.mail import Source, read_sources
from reviewtool.intake.series import Series, build_series
from reviewtool.report import SCHEMA_VERSION, Report, make_report

if TYPE_CHECKING:
    from reviewtool.kbuild.builder import BuildResult


def merge_reports(paths: list[Path]) -> dict[str, Any]:
    """One report of every shard: the series, every shard's builds and findings de-duplicated,
    and the sections only some shards have (a tree audit's call sites) from the first that has
    them. A report of the series checks (`audit --format json`) merges with the shards too.
    """
    if not paths:
        raise InputError("merge needs at least one JSON report")
    loaded = [(path, _load(path)) for path in paths]
    reports = [report for _, report in loaded]
    identities = {path: _identity(report) for path, report in loaded}
    if len(set(identities.values())) > 1:
        subjects = sorted({str(r["series"].get("subject")) for r in reports})
        raise InputError("the reports are of different series: " + ", ".join(subjects))
    merged: dict[str, Any] = {}
    for report in reports:
        for key, value in report.items():
            merged.setdefault(key, value)
    merged["series"] = _series(reports)
    cells: dict[tuple[int, str], dict[str, Any]] = {}
    findings: dict[tuple[Any, ...], Finding] = {}
    for path, report in loaded:
        for cell in report.get("builds", []):
            try:
                cells[(cell["patch"], cell["arch"])] = cell
            except (KeyError, TypeError) as error:
                raise InputError(f"{path}: a build cell is malformed: {error!r}") from None
        for finding in _findings(report.get("findings", [])):
            findings[(finding.fingerprint, finding.patch, finding.rule)] = finding
    merged["builds"] = [cells[key] for key in sorted(cells)]
    built = [r["build"] for r in reports if "build" in r]  # a series-checks report has none
    if built:
        arches = dict.fromkeys(a for b in built for a in b.get("arches", []))
        merged["build"] = {**built[0], "arches": list(arches)}
    # Sorted as `audit` sorts its findings: series-level first, then patch, severity, place.
    merged["findings"] = [finding_to_dict(f) for f in sort_findings(list(findings.values()))]
    summary: dict[str, int] = {"error": 0, "warning": 0, "note": 0}
    for finding in merged["findings"]:
        summary[finding["severity"]] += 1
    if "preexisting" in merged:
        summary["preexisting"] = len(merged["preexisting"])
    merged["summary"] = summary
    merged["sources"] = sorted({s for r in reports for s in r.get("sources", [])})
    return merged


def _identity(report: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two reports reports of one series: its subject and its patches' Message-Ids
    and subjects (not what each stage adds to a patch's record)."""
    series = report["series"]
    return (
        series.get("subject"),
        tuple((p.get("message_id"), p.get("subject")) for p in series["patches"]),
    )


def _series(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The series record, each patch's with what any report adds to it (a tree audit's
    per-patch deltas)."""
    series = dict(reports[0]["series"])
    patches = [dict(p) for p in series["patches"]]
    for report in reports[1:]:
        for patch, other in zip(patches, report["series"]["patches"], strict=True):
            for key, value in other.items():
                patch.setdefault(key, value)
    series["patches"] = patches
    return series


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from error
    except ValueError as error:
        raise InputError(f"{path}: not a JSON report: {error}") from error
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"{path}: not a reviewtool JSON report (schema {SCHEMA_VERSION})")
    series = data.get("series")
    if (
        not isinstance(series, dict)
        or not isinstance(series.get("patches"), list)
        or not all(isinstance(p, dict) for p in series["patches"])
        or not isinstance(data.get("findings", []), list)
        or not isinstance(data.get("builds", []), list)
    ):
        raise InputError(f"{path}: not a reviewtool JSON report (schema {SCHEMA_VERSION})")
    return data


def merged_report(merged: dict[str, Any], sources: Sequence[Source]) -> Report:
    """A Report of the merged shards, for every format: the series read again from its
    sources (it must be the series the shards audited), findings and builds from the JSON."""
    wanted = merged.get("series", {})
    mails = read_sources(sources)
    series = build_series(mails, revision=wanted.get("revision"), keep_going=True)
    _require_same_series(wanted, series)
    findings = _findings(merged.get("findings", []))
    return make_report(
        tuple(merged.get("sources", ())),
        series,
        findings,
        _rules(findings),
        builds=_builds(merged),
    )


def _require_same_series(wanted: dict[str, Any], series: Series) -> None:
    expected = [(p.get("message_id"), p.get("subject")) for p in wanted.get("patches", [])]
    found = [(p.message_id, p.mail.subject) for p in series.patches]
    if expected != found:
        raise InputError(
            f"--series is not the series the reports are of ({wanted.get('subject', '?')!r}):"
            " its patches have other Message-Ids or subjects"
        )


def _findings(entries: Iterable[dict[str, Any]]) -> list[Finding]:
    try:
        return [finding_from_dict(entry) for entry in entries]
    except ValueError as error:
        raise InputError(f"a finding of the merged reports is malformed: {error}") from error


def _rules(findings: list[Finding]) -> tuple[Rule, ...]:
    """Every rule the engine knows, plus any other rule id a finding names (a rule file
    given to a shard by path), at that finding's severity."""
    from reviewtool.analysis.checks import RULES
    from reviewtool.analysis.treeaudit import TREE_RULES
    from reviewtool.kbuild.builder import BUILD_RULE

    known = {rule.id: rule for rule in (*RULES.values(), *TREE_RULES, BUILD_RULE)}
    for finding in findings:
        if finding.rule not in known:
            known[finding.rule] = _contract_rule(finding)
    return tuple(known.values())


def _contract_rule(finding: Finding) -> Rule:
    from reviewtool.analysis.rules import load_rule, rule_names
    from reviewtool.analysis.treeaudit import contract_rule

    if finding.rule in rule_names():
        return contract_rule(load_rule(finding.rule))
    return Rule(finding.rule, finding.severity, finding.rule, RuleKind.CONTRACT)


def _builds(merged: dict[str, Any]) -> BuildResult | None:
    from reviewtool.git import TreeState
    from reviewtool.kbuild.builder import BuildCell, BuildResult
    from reviewtool.kbuild.diagnostics import Diagnostic

    if "builds" not in merged:
        return None
    build = merged.get("build", {})

    def diagnostics(entries: list[dict[str, Any]]) -> tuple[Diagnostic, ...]:
        return tuple(Diagnostic(**entry) for entry in entries)

    try:
        cells = tuple(
            BuildCell(
                patch=cell["patch"],
                arch=cell["arch"],
                status=cell["status"],
                objects=tuple(cell["objects"]),
                new_diagnostics=diagnostics(cell["new_diagnostics"]),
                preexisting_count=cell["preexisting_count"],
                preexisting=diagnostics(cell.get("preexisting_diagnostics", [])),
                reason=cell["reason"],
                toolchain=cell["toolchain"],
                command=cell["command"],
            )
            for cell in merged["builds"]
        )
    except (KeyError, TypeError) as error:
        raise InputError(f"a build cell of the merged reports is malformed: {error}") from error
    arches = build.get("arches") or list(dict.fromkeys(cell.arch for cell in cells))
    state = TreeState(
        path=build.get("path", ""),
        base=build.get("base", ""),
        base_source=build.get("base_source", ""),
        applied=(),
    )
    return BuildResult(state=state, cells=cells, arches=tuple(arches))
