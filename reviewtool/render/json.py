"""JSON: sorted keys, a schema version; the contract is documented in README."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from reviewtool.findings import finding_to_dict
from reviewtool.intake.patch import FileChange, Patch
from reviewtool.render.common import json_safe
from reviewtool.report import SCHEMA_VERSION, Report

if TYPE_CHECKING:
    from reviewtool.analysis.treeaudit import CauseStatus, InferredAudit, TreeAudit


def render(report: Report) -> str:
    text = json.dumps(to_dict(report), sort_keys=True, indent=2, ensure_ascii=False)
    return json_safe(text) + "\n"  # the same data; control and bidi characters as \u escapes


def to_dict(report: Report) -> dict[str, Any]:
    data = _series_report(report)
    if report.builds is not None:
        state = report.builds.state
        data["build"] = {
            "path": state.path,
            "base": state.base,
            "base_source": state.base_source,
            "arches": list(report.builds.arches),
        }
        data["builds"] = [
            {
                "patch": cell.patch,
                "arch": cell.arch,
                "status": cell.status,
                "objects": list(cell.objects),
                "new_diagnostics": [dataclasses.asdict(d) for d in cell.new_diagnostics],
                "preexisting_count": cell.preexisting_count,
                "preexisting_diagnostics": [dataclasses.asdict(d) for d in cell.preexisting],
                "reason": cell.reason,
                "toolchain": cell.toolchain,
                "command": cell.command,
            }
            for cell in report.builds.cells
        ]
    if report.tree is not None:
        data.update(_tree(report.tree))
        data["summary"]["preexisting"] = len(data["preexisting"])
        for patch in data["series"]["patches"]:
            unhandled: list[str] = []
            resolved: list[str] = []
            for audit in report.tree.audits:
                for delta in audit.deltas:
                    if delta.number == patch["number"]:
                        unhandled += delta.unhandled
                        resolved += delta.resolved
            patch["callsites_delta"] = {"unhandled": unhandled, "resolved": resolved}
    return data


def _tree(tree: TreeAudit) -> dict[str, Any]:
    state = tree.state
    coverage = tree.coverage
    return {
        "tree": {
            "path": state.path,
            "base": state.base,
            "base_source": state.base_source,
            "partial_from": state.partial_from,
            "applied": [
                {
                    "patch": a.number,
                    "status": a.status,
                    "method": a.method,
                    "commit": a.commit,
                    "failed_files": list(a.failed_files),
                    "failures": [
                        {"path": f.path, "hunk": f.hunk, "line": f.line, "reason": f.reason}
                        for f in a.failures
                    ],
                    "assisted": [
                        {"path": f.path, "hunk": f.hunk, "line": f.line, "reason": f.reason}
                        for f in a.assisted
                    ],
                }
                for a in state.applied
            ],
        },
        "rules_audited": [
            {
                "id": a.rule.id,
                "title": a.rule.title,
                "source": a.rule.source,
                "live_cases_base": sorted(a.base.live_cases),
                "live_cases_final": sorted(a.final.live_cases),
                "files_parsed": a.final.files,
            }
            for a in tree.audits
        ],
        "coverage": {
            "textual_calls": coverage.textual,
            "parsed_call_sites": coverage.parsed,
            "ratio": round(coverage.ratio, 4),
            "unparsed": [
                {"path": u.path, "line": u.line, "api": u.api, "reason": u.reason}
                for u in coverage.unparsed
            ],
        },
        "callsites": [
            {
                "id": site.id,
                "rule": rule.id,
                "path": site.path,
                "line": site.line,
                "function": site.function,
                "api": site.api,
                "argument": site.argument,
                "cases": list(site.cases),
                "verdict": site.verdict,
                "reason": site.reason,
                "cause": site.cause or None,
                "how": site.how,
                "via": site.via or None,
                "evidence": [
                    {"path": e.path, "line": e.line, "note": e.note} for e in site.evidence
                ],
            }
            for rule, site in tree.sites()
        ],
        "contracts": [_contract(i) for i in tree.inferred],
        "causes": [_cause(a.rule.id, c) for a in tree.audits for c in a.causes],
        "preexisting": [
            _cause(a.rule.id, c) for a in tree.audits for c in a.causes_with("preexisting")
        ],
    }


def _contract(inferred: InferredAudit) -> dict[str, Any]:
    """A return contract (inferred from a patch, or stated by a rule file) and every call site
    of it and of its pass-through wrappers in the final state, with verdict and reason."""
    from reviewtool.analysis.inference import change_text
    from reviewtool.analysis.returnrules import kind_text

    contract = inferred.contract
    return {
        "function": contract.function,
        "path": contract.path,
        "patch": contract.patch or None,
        "inferred": not inferred.rule,
        "rule": inferred.rule or "inferred-contract",
        "change": change_text(contract),
        "type_before": contract.type_before.text,
        "type": contract.type_after.text,
        "before": sorted(kind_text(k) for k in contract.before),
        "after": sorted(kind_text(k) for k in contract.after),
        "wrappers": [a.contract.function for a in inferred.final[1:]],
        "callsites": [
            {
                "id": site.id,
                "function": site.function,
                "callee": site.callee,
                "path": site.path,
                "line": site.line,
                "call": site.text,
                "verdict": site.verdict,
                "reason": site.reason,
                "how": site.how,
                "preexisting": site.id in inferred.preexisting,
                "evidence": [
                    {"path": site.path, "line": e.line, "note": f"{e.text}: {e.note}"}
                    for e in site.evidence
                ],
            }
            for audit in inferred.final
            for site in audit.sites
        ],
    }


def _cause(rule: str, status: CauseStatus) -> dict[str, Any]:
    """One root cause of the final state: where it is reported, the sites it groups, and
    whether the series made it (`new`), changed it (`changed`) or found it (`preexisting`)."""
    cause = status.cause
    anchor = cause.anchor
    return {
        "id": cause.id,
        "rule": rule,
        "verdict": cause.verdict,
        "status": status.status,
        "patch": status.patch,
        "path": anchor.path,
        "line": anchor.line,
        "function": anchor.function,
        "api": anchor.api,
        "argument": anchor.argument,
        "reason": anchor.reason,
        "how": anchor.how,
        "root": cause.root,
        "sites": list(cause.sites),
    }


def _series_report(report: Report) -> dict[str, Any]:
    series = report.series
    counts = report.counts
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "reviewtool", "version": report.tool_version},
        "sources": list(report.sources),
        "series": {
            "subject": series.subject,
            "title": series.title,
            "revision": series.revision,
            "revisions_seen": list(series.revisions_seen),
            "expected": series.expected,
            "base_commit": series.base_commit or None,
            "prerequisite_patch_ids": list(series.prerequisite_patch_ids),
            "missing": list(series.missing),
            "cover": _cover(series.cover),
            "patches": [_patch(patch) for patch in series.patches],
            "files": list(series.files),
            "skipped": [
                {"message_id": s.mail.message_id, "subject": s.mail.subject, "reason": s.reason}
                for s in series.skipped
            ],
        },
        "findings": [finding_to_dict(f) for f in report.findings],
        "summary": {severity.value: count for severity, count in counts.items()},
    }


def _cover(cover: Patch | None) -> dict[str, Any] | None:
    if cover is None:
        return None
    stat = cover.diffstat
    return {
        "subject": cover.mail.subject,
        "message_id": cover.message_id,
        "author": str(cover.author),
        "date": cover.mail.date,
        "diffstat": None
        if stat is None
        else {
            "files": [{"path": e.path, "changes": e.changes} for e in stat.entries],
            "files_changed": stat.files_changed,
            "insertions": stat.insertions,
            "deletions": stat.deletions,
        },
    }


def _patch(patch: Patch) -> dict[str, Any]:
    return {
        "number": patch.number,
        "subject": patch.mail.subject,
        "title": patch.subject.title,
        "message_id": patch.message_id,
        "in_reply_to": patch.mail.in_reply_to or None,
        "author": str(patch.author),
        "date": patch.mail.date,
        "files": [_file(change) for change in patch.files],
        "insertions": patch.insertions,
        "deletions": patch.deletions,
        "trailers": [{"name": t.name, "value": t.value} for t in patch.trailers],
        "signed_off_by": [t.value for t in patch.trailers_named("Signed-off-by")],
    }


def _file(change: FileChange) -> dict[str, Any]:
    return {
        "path": change.path,
        "old_path": change.old_path if change.old_path != change.path else None,
        "status": change.status,
        "added": change.added,
        "removed": change.removed,
        "binary": change.binary,
    }
