"""Terminal text: rich tables on a TTY, plain aligned text otherwise."""

from __future__ import annotations

import io

from reviewtool.render import RenderOptions
from reviewtool.render.common import (
    at,
    build_lines,
    full_message,
    headline,
    patch_label,
    place,
    plural,
    totals,
    tree_lines,
    visible,
)
from reviewtool.report import Report


def render(report: Report, options: RenderOptions) -> str:
    return _rich(report, options) if options.rich else _plain(report)


def _plain(report: Report) -> str:
    series = report.series
    lines = [f"Series: {series.subject}", f"  {headline(report)}"]
    if series.cover:
        lines.append(f"  cover: <{series.cover.message_id}>")
    if series.base_commit:
        lines.append(f"  base-commit: {series.base_commit}")
    lines.append("")
    width = len(str(series.expected))
    for patch in series.patches:
        count = len(report.findings_for(patch.number))
        flag = f"  [{plural(count, 'finding')}]" if count else ""
        lines.append(
            f"  {patch.number:>{width}}/{series.expected} {patch.subject.title}"
            f"  ({plural(len(patch.files), 'file')}, +{patch.insertions} -{patch.deletions}){flag}"
        )
    lines.append("")
    if report.tree is not None:
        lines += [*tree_lines(report), ""]
    if report.builds is not None:
        lines += [*build_lines(report), ""]
    lines.append(f"Findings: {totals(report)}")
    for finding in report.findings:
        where = place(finding)
        lines.append(
            f"  {finding.severity.value:<7} {patch_label(report, finding.patch):<7} "
            f"{finding.rule}: {full_message(finding)}" + (f" [{where}]" if where else "")
        )
        lines += [f"      {at(e)}: {e.note}" for e in finding.evidence]
        lines += [f"      also {at(r)}: {r.note}" for r in finding.related]
    return visible("\n".join(lines) + "\n")  # never a terminal escape sequence from the input


def _rich(report: Report, options: RenderOptions) -> str:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=options.width, highlight=False)
    series = report.series
    console.print(f"[bold]{_escape(series.subject)}[/bold]")
    console.print(headline(report))
    patches = Table(show_edge=False, pad_edge=False, box=None)
    for column in ("#", "subject", "files", "+", "-", "findings"):
        patches.add_column(column, justify="right" if column in "#+-files" else "left")
    for patch in series.patches:
        count = len(report.findings_for(patch.number))
        patches.add_row(
            str(patch.number),
            _escape(patch.subject.title),
            str(len(patch.files)),
            str(patch.insertions),
            str(patch.deletions),
            str(count) if count else "",
        )
    console.print(patches)
    if report.tree is not None:
        console.print()
        for line in tree_lines(report):
            console.print(_escape(line))
    if report.builds is not None:
        console.print()
        for line in build_lines(report):
            console.print(_escape(line))
    console.print(f"\n[bold]Findings:[/bold] {totals(report)}")
    if report.findings:
        table = Table(show_edge=False, pad_edge=False, box=None)
        for column in ("severity", "patch", "rule", "where", "message"):
            table.add_column(column)
        styles = {"error": "red", "warning": "yellow", "note": "cyan"}
        for finding in report.findings:
            severity = finding.severity.value
            table.add_row(
                f"[{styles[severity]}]{severity}[/]",
                patch_label(report, finding.patch),
                finding.rule,
                _escape(place(finding)),
                _escape(full_message(finding)),
            )
        console.print(table)
    return buffer.getvalue()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(visible(text))
