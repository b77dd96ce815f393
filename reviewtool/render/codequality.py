"""GitLab Code Quality: the JSON array a merge request's Code Quality widget reads.

Each finding is one issue with the fields GitLab requires: description, check_name,
fingerprint (unique per issue: the finding's fingerprint, with `:N` on repeats, as in SARIF),
severity (info, minor, major, critical or blocker) and location.path with location.lines.begin.
GitLab needs a path for every issue: a finding about a message rather than a file (a missing
Signed-off-by) is placed on line 1 of the series input as given when that is a relative path
(the mbox committed with the merge request), else on the placeholder path `series`.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from reviewtool.findings import Finding, Severity
from reviewtool.render.common import full_message, json_safe, patch_label, unique_fingerprints
from reviewtool.report import Report

SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.NOTE: "info"}
PLACEHOLDER_PATH = "series"


def render(report: Report) -> str:
    text = json.dumps(to_list(report), indent=2, sort_keys=True, ensure_ascii=False)
    return json_safe(text) + "\n"


def to_list(report: Report) -> list[dict[str, Any]]:
    fallback = _series_path(report)
    return [
        _issue(report, finding, fingerprint, fallback)
        for finding, fingerprint in zip(
            report.findings, unique_fingerprints(report.findings), strict=True
        )
    ]


def _issue(report: Report, finding: Finding, fingerprint: str, fallback: str) -> dict[str, Any]:
    label = patch_label(report, finding.patch)
    return {
        "description": f"{label}: {full_message(finding)}"
        if finding.patch is not None
        else full_message(finding),
        "check_name": finding.rule,
        "fingerprint": fingerprint,
        "severity": SEVERITIES[finding.severity],
        "location": {
            "path": finding.path or fallback,
            "lines": {"begin": finding.line or 1},
        },
    }


def _series_path(report: Report) -> str:
    """The first input when it is a relative path inside the repository, else a placeholder."""
    for source in report.sources:
        path = PurePosixPath(source)
        if source and not path.is_absolute() and ".." not in path.parts and source != "<stdin>":
            return str(path)
    return PLACEHOLDER_PATH
