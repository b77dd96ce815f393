"""SARIF 2.1.0 for code-scanning uploads: rules, results, partialFingerprints, codeFlows."""

from __future__ import annotations

import json
from typing import Any

from reviewtool.findings import Finding, Severity
from reviewtool.render.common import full_message, json_safe, unique_fingerprints
from reviewtool.report import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def render(report: Report) -> str:
    text = json.dumps(to_dict(report), indent=2, sort_keys=True, ensure_ascii=False)
    return json_safe(text) + "\n"


def to_dict(report: Report) -> dict[str, Any]:
    rule_ids = [rule.id for rule in report.rules]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "reviewtool",
                        "version": report.tool_version,
                        "informationUri": "https://pypi.org/project/reviewtool/",
                        "rules": [
                            {
                                "id": rule.id,
                                "shortDescription": {"text": rule.summary},
                                "defaultConfiguration": {"level": _LEVELS[rule.severity]},
                            }
                            for rule in report.rules
                        ],
                    }
                },
                "automationDetails": {"id": f"reviewtool/{report.series.title}"},
                "results": [
                    _result(finding, fingerprint, rule_ids)
                    for finding, fingerprint in zip(
                        report.findings, unique_fingerprints(report.findings), strict=True
                    )
                ],
            }
        ],
    }


def _result(finding: Finding, fingerprint: str, rule_ids: list[str]) -> dict[str, Any]:
    # reviewtool/v1: Finding.fingerprint (rule, path, function, normalized content; no line),
    # with ":N" on the Nth finding of a report that shares it.
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": _LEVELS[finding.severity],
        "message": {"text": full_message(finding)},
        "partialFingerprints": {"reviewtool/v1": fingerprint},
        "properties": {"patch": finding.patch},
    }
    if finding.inferred is not None:
        result["properties"]["inferred"] = {
            "patch": finding.inferred.patch,
            "function": finding.inferred.function,
            "path": finding.inferred.path,
            "change": finding.inferred.change,
        }
    if finding.rule in rule_ids:
        result["ruleIndex"] = rule_ids.index(finding.rule)
    if finding.path:
        result["locations"] = [_location(finding.path, finding.line, finding.column)]
    if finding.related:
        result["relatedLocations"] = [
            dict(_location(r.path, r.line, None, r.note), id=number)
            for number, r in enumerate(finding.related, start=1)
        ]
    if finding.evidence:
        result["codeFlows"] = [
            {
                "threadFlows": [
                    {
                        "locations": [
                            {"location": _location(e.path, e.line, None, e.note)}
                            for e in finding.evidence
                        ]
                    }
                ]
            }
        ]
    return result


def _location(path: str, line: int | None, column: int | None, note: str = "") -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": path}}
    if line:
        region: dict[str, Any] = {"startLine": line}
        if column:
            region["startColumn"] = column
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    if note:
        location["message"] = {"text": note}
    return location
