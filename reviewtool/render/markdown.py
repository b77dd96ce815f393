"""Markdown: a comment a CI bot can post on a pull or merge request, grouped by patch."""

from __future__ import annotations

from reviewtool.findings import Finding
from reviewtool.render.common import build_lines, headline, patch_label, place, totals, tree_lines
from reviewtool.report import Report

_ICONS = {"error": ":x:", "warning": ":warning:", "note": ":information_source:"}


def render(report: Report) -> str:
    series = report.series
    lines = [
        f"### reviewtool: {_inline(series.subject)}",
        "",
        f"{headline(report)}. **{totals(report)}**.",
        "",
        "| # | patch | files | + | - | findings |",
        "|--:|:--|--:|--:|--:|:--|",
    ]
    for patch in series.patches:
        found = report.findings_for(patch.number)
        lines.append(
            f"| {patch.number} | {_cell(patch.subject.title)} | {len(patch.files)} "
            f"| {patch.insertions} | {patch.deletions} | {_summary(found)} |"
        )
    if report.tree is not None:
        lines += ["", "<details><summary>Tree audit</summary>", "", "```"]
        lines += tree_lines(report)
        lines += ["```", "", "</details>"]
    if report.builds is not None:
        lines += ["", "<details><summary>Builds</summary>", "", "```"]
        lines += build_lines(report)
        lines += ["```", "", "</details>"]
    groups = [None, 0, *(p.number for p in series.patches)]
    for number in dict.fromkeys(groups):
        found = report.findings_for(number)
        if not found:
            continue
        lines += [
            "",
            f"<details><summary>{_html(patch_label(report, number))}: "
            f"{_html(_group_title(report, number))} ({len(found)})</summary>",
            "",
        ]
        lines += [_item(finding) for finding in found]
        lines += ["", "</details>"]
    lines += ["", f"<sub>reviewtool {report.tool_version}</sub>"]
    return "\n".join(lines) + "\n"


def _group_title(report: Report, number: int | None) -> str:
    if number is None:
        return "the series"
    if number == 0:
        return "cover letter"
    patch = next(p for p in report.series.patches if p.number == number)
    return patch.subject.title


def _summary(found: tuple[Finding, ...]) -> str:
    return " ".join(f"{_ICONS[f.severity.value]} `{f.rule}`" for f in found) or ":white_check_mark:"


def _item(finding: Finding) -> str:
    where = place(finding)
    where_text = f" `{where}`" if where else ""
    text = (
        f"- {_ICONS[finding.severity.value]} **{finding.rule}**{where_text}: "
        f"{_inline(finding.message)}"
    )
    steps = [f"  - `{e.path}:{e.line}` {_inline(e.note)}" for e in finding.evidence]
    return "\n".join([text, *steps])


def _inline(text: str) -> str:
    """Escape text that Markdown or HTML would interpret."""
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def _cell(text: str) -> str:
    return _inline(text).replace("\n", " ")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
