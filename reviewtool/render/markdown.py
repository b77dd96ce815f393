"""Markdown: one comment a CI bot can post on a pull or merge request.

The summary (totals and the patch table) comes first; the tree audit, the builds and the
findings of each patch are folded in <details>. A comment must fit one pull-request comment
(GitHub refuses a body over 65,536 characters): when the whole report does not fit, findings
are left out from the least important end (notes, then warnings, then errors; within one
severity the last patches first), each fold says how many it shows, and the comment ends with
where the full report is.
"""

from __future__ import annotations

from dataclasses import dataclass

from reviewtool.findings import Finding, Severity
from reviewtool.render import RenderOptions
from reviewtool.render.common import (
    at,
    build_lines,
    full_message,
    headline,
    patch_label,
    place,
    totals,
    tree_lines,
    visible,
)
from reviewtool.report import Report

# GitHub's limit is 65,536 characters; stay clear of it for what a bot wraps around the body.
COMMENT_LIMIT = 65_536
BUDGET = 64_000
_ICONS = {"error": ":x:", "warning": ":warning:", "note": ":information_source:"}
# When shortening: at most this many table rows, lines of a folded section, characters of a
# title or a line, so that even a hostile series (thousands of patches, 10,000-character
# subjects) gives a comment that fits.
_PATCH_ROWS = {1: 150, 2: 150, 3: 20}  # by shortening level; level 2 drops tree and builds
_MOST_SECTION_LINES = 150
_MOST_CHARACTERS = 150


@dataclass(frozen=True)
class _Group:
    number: int | None
    title: str
    findings: tuple[Finding, ...]


def render(report: Report, options: RenderOptions | None = None) -> str:
    options = options or RenderOptions()
    groups = _groups(report)
    full = _comment(report, groups, _all_shown(groups), options, level=0)
    if len(full) <= BUDGET:
        return full
    return _shortened(report, groups, options)


def _comment(
    report: Report,
    groups: list[_Group],
    shown: set[int],
    options: RenderOptions,
    *,
    level: int,
) -> str:
    """The comment; level 0 is the whole report, 1 to 3 ever shorter summaries."""
    shortened = level > 0
    lines = _summary(report, level)
    hidden: list[Finding] = []
    for group in groups:
        if shortened and not any(id(f) in shown for f in group.findings):
            hidden += group.findings
            continue
        lines += _group_lines(report, group, shown)
    if hidden:
        left_out = _left_out(tuple(hidden), shown)
        lines += ["", f"… {left_out} more, in other folds, left out of this comment."]
    if shortened:
        lines += ["", _pointer(report, options)]
    lines += ["", f"<sub>reviewtool {report.tool_version}</sub>"]
    return visible("\n".join(lines) + "\n")


def _summary(report: Report, level: int) -> list[str]:
    shortened = level > 0
    series = report.series
    lines = [
        f"### reviewtool: {_inline(_short(series.subject, shortened))}",
        "",
        f"{headline(report)}. **{totals(report)}**.",
        "",
        "| # | patch | files | + | - | findings |",
        "|--:|:--|--:|--:|--:|:--|",
    ]
    patches = series.patches[: _PATCH_ROWS[level]] if shortened else series.patches
    for patch in patches:
        found = report.findings_for(patch.number)
        lines.append(
            f"| {patch.number} | {_cell(_short(patch.subject.title, shortened))} "
            f"| {len(patch.files)} "
            f"| {patch.insertions} | {patch.deletions} | {_counts(found, shortened)} |"
        )
    if len(patches) < len(series.patches):
        lines.append(f"| | … {len(series.patches) - len(patches)} more patches | | | | |")
    sections = level < 2
    if report.tree is not None and sections:
        lines += _folded("Tree audit", tree_lines(report), shortened)
    if report.builds is not None and sections:
        lines += _folded("Builds", build_lines(report), shortened)
    return lines


def _folded(title: str, body: list[str], shortened: bool) -> list[str]:
    if shortened:
        left_out = len(body) - _MOST_SECTION_LINES
        body = [_short(line, True) for line in body[:_MOST_SECTION_LINES]]
        body += [f"… {left_out} more lines"] if left_out > 0 else []
    fence = _fence(body)
    return ["", f"<details><summary>{title}</summary>", "", fence, *body, fence, "", "</details>"]


def _fence(body: list[str]) -> str:
    """A code fence longer than any run of backticks in the body, so nothing can close it."""
    longest = 0
    for line in body:
        run = 0
        for char in line:
            run = run + 1 if char == "`" else 0
            longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _short(text: str, shortened: bool) -> str:
    if not shortened or len(text) <= _MOST_CHARACTERS:
        return text
    return text[: _MOST_CHARACTERS - 1] + "…"


def _group_lines(report: Report, group: _Group, shown: set[int]) -> list[str]:
    kept = [f for f in group.findings if id(f) in shown]
    total = len(group.findings)
    count = f"{total}" if len(kept) == total else f"{len(kept)} of {total} shown"
    lines = [
        "",
        f"<details><summary>{_html(patch_label(report, group.number))}: "
        f"{_html(_short(group.title, len(kept) < total))} ({count})</summary>",
        "",
    ]
    lines += [_item(finding) for finding in kept]
    if len(kept) < total:
        lines.append(f"- … {_left_out(group.findings, shown)} left out of this comment")
    lines += ["", "</details>"]
    return lines


def _left_out(findings: tuple[Finding, ...], shown: set[int]) -> str:
    counts = dict.fromkeys(Severity, 0)
    for finding in findings:
        if id(finding) not in shown:
            counts[finding.severity] += 1
    return ", ".join(f"{n} {s.value}{'' if n == 1 else 's'}" for s, n in counts.items() if n)


def _shortened(report: Report, groups: list[_Group], options: RenderOptions) -> str:
    """The comment with as many of the most important findings as fit the budget."""
    shown: set[int] = set()
    level = 1
    base = len(_comment(report, groups, shown, options, level=level))
    while base > BUDGET and level < max(_PATCH_ROWS):
        level += 1
        base = len(_comment(report, groups, shown, options, level=level))
    room = BUDGET - base
    group_of = {id(f): group for group in groups for f in group.findings}
    opened: set[int | None] = set()
    for finding in _by_importance(groups):
        group = group_of[id(finding)]
        cost = len(visible(_item(finding))) + 1
        if group.number not in opened:  # its fold appears with its first finding
            cost += len("\n".join(_group_lines(report, group, shown))) + 1
        if cost <= room:
            shown.add(id(finding))
            opened.add(group.number)
            room -= cost
    text = _comment(report, groups, shown, options, level=level)
    while len(text) > BUDGET and shown:  # the estimate above was short: drop one more
        shown.discard(id(_least_important(groups, shown)))
        text = _comment(report, groups, shown, options, level=level)
    return text


def _by_importance(groups: list[_Group]) -> list[Finding]:
    """Errors first, then warnings, then notes; within one severity, in report order."""
    ordered = [f for group in groups for f in group.findings]
    return sorted(ordered, key=lambda f: -f.severity.rank)


def _least_important(groups: list[_Group], shown: set[int]) -> Finding:
    return [f for f in _by_importance(groups) if id(f) in shown][-1]


def _all_shown(groups: list[_Group]) -> set[int]:
    return {id(f) for group in groups for f in group.findings}


def _pointer(report: Report, options: RenderOptions) -> str:
    why = "This comment is shortened to fit a pull request comment."
    if options.report_url:
        return f"{why} The full report: {_url(options.report_url)}"
    return (
        f"{why} The full report: run `reviewtool audit` on the series with `--format json` "
        "(or `--format text`)."
    )


def _url(url: str) -> str:
    """A link GitHub renders, without letting the URL open Markdown or HTML of its own."""
    text = url.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
    return f"<{text}>"


def _groups(report: Report) -> list[_Group]:
    series = report.series
    numbers = dict.fromkeys([None, 0, *(p.number for p in series.patches)])
    groups = []
    for number in numbers:
        found = report.findings_for(number)
        if found:
            groups.append(_Group(number, _group_title(report, number), found))
    return groups


def _group_title(report: Report, number: int | None) -> str:
    if number is None:
        return "the series"
    if number == 0:
        return "cover letter"
    patch = next(p for p in report.series.patches if p.number == number)
    return patch.subject.title


def _counts(found: tuple[Finding, ...], shortened: bool) -> str:
    """A patch's findings in its table row: each rule, or counts by severity when shortened."""
    if not found:
        return ":white_check_mark:"
    if not shortened:
        return " ".join(f"{_ICONS[f.severity.value]} `{f.rule}`" for f in found)
    counts = dict.fromkeys(Severity, 0)
    for finding in found:
        counts[finding.severity] += 1
    return " ".join(f"{_ICONS[s.value]} {n}" for s, n in counts.items() if n)


def _item(finding: Finding) -> str:
    where = place(finding)
    where_text = f" `{_code(where)}`" if where else ""
    text = (
        f"- {_ICONS[finding.severity.value]} **{finding.rule}**{where_text}: "
        f"{_inline(full_message(finding))}"
    )
    steps = [f"  - `{_code(at(e))}` {_inline(e.note)}" for e in finding.evidence]
    steps += [f"  - also `{_code(at(r))}` {_inline(r.note)}" for r in finding.related]
    return "\n".join([text, *steps])


def _inline(text: str) -> str:
    """Escape text that Markdown or HTML would interpret; one line."""
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def _code(text: str) -> str:
    """Text for an inline code span: a backtick in it would end the span."""
    return text.replace("`", "'").replace("\n", " ")


def _cell(text: str) -> str:
    return _inline(text)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
