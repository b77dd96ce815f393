"""b4 review's external check protocol: a JSON array of results on stdout.

    [{"tool": "reviewtool", "status": "pass"|"warn"|"fail", "summary": ..., "details": ...}]

`details` is what b4's own checkpatch handler stores and its review TUI lists: a JSON string
of `[{"status", "description", "srcline"?}]`, one entry per finding, where `srcline` echoes
the offending commit-message line (b4 shows it dimmed under the finding; code findings carry
their file and line in the description instead, the reviewer sees the code in the patch).
"""

from __future__ import annotations

import json

from reviewtool.findings import Finding, Severity
from reviewtool.integrations.b4check import PatchCheck, locate
from reviewtool.render.common import full_message, plural
from reviewtool.render.terse import LEVELS, one_line

TOOL = "reviewtool"
_STATUS = {Severity.ERROR: "fail", Severity.WARNING: "warn", Severity.NOTE: "warn"}


def render(check: PatchCheck) -> str:
    findings = check.report.findings
    result: dict[str, str] = {"tool": TOOL, "status": status(findings), "summary": summary(check)}
    if findings:
        entries = [_detail(check, finding) for finding in _ordered(check)]
        result["details"] = json.dumps(entries, ensure_ascii=False)
    return json.dumps([result], ensure_ascii=False, sort_keys=True) + "\n"


def error_result(message: str) -> str:
    """A failed check that could not run (bad input), as b4 shows a result."""
    result = {"tool": TOOL, "status": "fail", "summary": one_line(message)}
    return json.dumps([result], ensure_ascii=False, sort_keys=True) + "\n"


def status(findings: tuple[Finding, ...]) -> str:
    """fail on an error, warn on a warning or note, pass when clean."""
    worst = max((f.severity.rank for f in findings), default=0)
    if worst >= Severity.ERROR.rank:
        return "fail"
    return "warn" if worst else "pass"


def summary(check: PatchCheck) -> str:
    report = check.report
    counts = report.counts
    found = ", ".join(plural(counts[s], s.value) for s in Severity if counts[s])
    outcome = found or "passed all checks"
    if check.scope == "series":
        series = report.series
        return (
            f"series v{series.revision}, {len(series.patches)} of {series.expected} patches:"
            f" {outcome}"
        )
    why = f" ({one_line(check.note)})" if check.note else ""
    if check.scope == "cover":
        return f"cover letter checked alone{why}: {outcome}"
    return f"{outcome}{why}" if why else outcome


def _ordered(check: PatchCheck) -> list[Finding]:
    if check.scope == "series":
        return list(check.report.findings)
    return sorted(check.report.findings, key=lambda f: (locate(f, check.lines), f.sort_key()))


def _detail(check: PatchCheck, finding: Finding) -> dict[str, str]:
    level = LEVELS[finding.severity]
    message = f"{level}: {one_line(full_message(finding))} [{finding.rule}]"
    entry = {"status": _STATUS[finding.severity]}
    if check.scope == "series":
        label = (
            "" if finding.patch is None else f"[{finding.patch}/{check.report.series.expected}] "
        )
        entry["description"] = f"{label}{_place(finding)}{message}"
        return entry
    number = locate(finding, check.lines)
    if finding.path:
        entry["description"] = f"{_place(finding)}{message}"
    else:
        entry["description"] = f"{number}: {message}"
    source = check.lines.text_of(number).strip()
    if source and check.lines.in_message(number):
        entry["srcline"] = one_line(source)
    return entry


def _place(finding: Finding) -> str:
    if not finding.path:
        return ""
    where = one_line(finding.path)
    return f"{where}:{finding.line}: " if finding.line is not None else f"{where}: "
