"""checkpatch's `--terse` form, one line per finding: what b4 reads from a check command.

    -:<LINE>: ERROR|WARNING|CHECK: <message> [<rule>]

LINE is the line of the input message the finding is about (reviewtool.patchcheck.locate):
the `+` line of an added line, the trailer line, else the Subject: line. With `showfile`
(checkpatch's --showfile, which `b4 prep --check` passes), a finding in a file reads
`<path>:<post-image line>: ...` instead. Notes are checkpatch's CHECK level. No findings, no
output: b4 then reports "passed all checks".
"""

from __future__ import annotations

import re

from reviewtool.findings import Finding, Severity
from reviewtool.integrations.b4check import PatchCheck, locate
from reviewtool.render.common import full_message

LEVELS = {Severity.ERROR: "ERROR", Severity.WARNING: "WARNING", Severity.NOTE: "CHECK"}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def render(check: PatchCheck, *, showfile: bool = False) -> str:
    rows = sorted(
        ((_number(check, finding), finding) for finding in check.report.findings),
        key=lambda row: (row[0], -row[1].severity.rank, row[1].sort_key()),
    )
    return "".join(_line(number, finding, check, showfile) + "\n" for number, finding in rows)


def one_line(text: str) -> str:
    """Text fit for one output line: control characters and newlines become one space."""
    return re.sub(r" {2,}", " ", _CONTROL.sub(" ", text)).strip()


def _number(check: PatchCheck, finding: Finding) -> int:
    # A series check's findings are about the thread, not lines of the message given.
    return 0 if check.scope == "series" else locate(finding, check.lines)


def _line(number: int, finding: Finding, check: PatchCheck, showfile: bool) -> str:
    where = f"-:{number}"
    label = ""
    if showfile and finding.path and finding.line is not None:
        where = f"{one_line(finding.path)}:{finding.line}"
    elif finding.path and not _shown(check, finding):
        # A place the patch does not show (a call site elsewhere in the tree): name it.
        label = f"{one_line(finding.path)}:{finding.line}: "
    if check.scope == "series" and finding.patch is not None:
        label = f"[{finding.patch}/{check.report.series.expected}] {label}"
    message = one_line(full_message(finding))
    return f"{where}: {LEVELS[finding.severity]}: {label}{message} [{finding.rule}]"


def _shown(check: PatchCheck, finding: Finding) -> bool:
    """Whether LINE already says where: the finding's line is a line of this patch's diff."""
    if finding.path is None or finding.line is None:
        return True
    return (
        check.scope != "series" and check.lines.post_image(finding.path, finding.line) is not None
    )
