"""Email: the report as a reply on the mailing list, the way kernel bots (0-day) write theirs.

One reply to the cover letter (or to the first patch without one), or with reply_to="patch"
one reply per patch that has findings plus one to the cover for the series-level ones; several
messages come out as an mboxrd. Headers thread the reply under the message it answers
(In-Reply-To, References) and address its sender and recipients; every value taken from the
original mail is sanitized, so a hostile subject or address cannot add a header. Only findings
at or above warning are mailed (notes describe the input, such as ignored replies); with none,
the output is empty unless `email_clean` asks for a short "no findings" reply: bots stay silent
on success.
"""

from __future__ import annotations

import email.header
import email.policy
import email.utils
import functools
import hashlib
import re
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from typing import TYPE_CHECKING

from reviewtool.findings import Finding, RuleKind, Severity
from reviewtool.intake.mail import parse_date
from reviewtool.integrations.inbox import is_message_id, message_url
from reviewtool.render.common import patch_label, plural, visible

if TYPE_CHECKING:
    from reviewtool.intake.mail import Mail
    from reviewtool.intake.patch import Patch
    from reviewtool.render import RenderOptions
    from reviewtool.report import Report

WIDTH = 72
CONTEXT_LINES = 3
DEFAULT_FROM = "reviewtool <reviewtool@localhost>"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_REPLY_PREFIX = re.compile(r"^\s*re\s*:", re.IGNORECASE)
_NAME_ADDRESS = re.compile(r"^(.*?)\s*<([^<>]*)>\s*$")
_MBOXRD_FROM = re.compile(r"^(>*From )", re.MULTILINE)
_EPOCH = "Thu, 01 Jan 1970 00:00:00 +0000"
# refold_source="none": the Subject is folded here (at spaces, after "Subject: Re:"), since
# the policy's own folder moves a subject that fits on the next line there whole, and parsers
# then read it with a leading space.
_POLICY = email.policy.default.clone(max_line_length=78, refold_source="none")


@dataclass(frozen=True)
class _Reply:
    """One message to write: the member it answers and the findings it reports."""

    target: Patch
    findings: tuple[Finding, ...]
    whole_series: bool


def render(report: Report, options: RenderOptions) -> str:
    replies = list(_replies(report, options))
    if not replies:
        return ""
    messages = [_message(report, options, reply) for reply in replies]
    if len(messages) == 1:
        return messages[0]
    return "".join(_mboxrd_entry(text) for text in messages)


def reported(report: Report) -> tuple[Finding, ...]:
    """The findings worth a mail: warnings and errors."""
    return tuple(f for f in report.findings if f.severity.rank >= Severity.WARNING.rank)


def _replies(report: Report, options: RenderOptions) -> Iterator[_Reply]:
    series = report.series
    first = series.cover or (series.patches[0] if series.patches else None)
    if first is None:
        return
    findings = reported(report)
    if not findings:
        if options.email_clean:
            yield _Reply(first, (), True)
        return
    if options.reply_to != "patch":
        yield _Reply(first, findings, True)
        return
    per_patch = {p.number: p for p in series.patches}
    to_first = tuple(f for f in findings if f.patch not in per_patch or per_patch[f.patch] is first)
    if to_first:
        yield _Reply(first, to_first, first is series.cover)
    for patch in series.patches:
        own = tuple(f for f in findings if f.patch == patch.number)
        if own and patch is not first:
            yield _Reply(patch, own, False)


def _mboxrd_entry(text: str) -> str:
    """One mboxrd entry: the separator public-inbox writes, `>`-quoted From lines, a blank line."""
    body = _MBOXRD_FROM.sub(r">\1", text)
    return f"From mboxrd@z Thu Jan  1 00:00:00 1970\n{body.rstrip(chr(10))}\n\n"


# --- headers ---------------------------------------------------------------------------------


def _message(report: Report, options: RenderOptions, reply: _Reply) -> str:
    mail = reply.target.mail
    sender = _parse_address(options.email_from or DEFAULT_FROM) or _parse_address(DEFAULT_FROM)
    assert sender is not None
    date = _date(options.email_date) or _date(mail.date) or _date(_EPOCH)
    message_id = _reply_id(report, reply, date, sender)
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    recipients = _recipients(mail, reply.target, sender)
    if recipients[0]:
        message["To"] = recipients[0]
    if recipients[1]:
        message["Cc"] = recipients[1]
    message.set_raw("Subject", _folded_subject(reply_subject(mail.subject)))
    message["Date"] = date
    message["Message-Id"] = f"<{message_id}>"
    if is_message_id(mail.message_id):
        message["In-Reply-To"] = f"<{mail.message_id}>"
        message["References"] = " ".join(f"<{m}>" for m in _references(mail))
    message["X-Mailer"] = f"reviewtool {_header_text(report.tool_version)}"
    body = visible(_body(report, options, reply, sender, message_id))  # no ESC, no bidi
    ascii_only = body.isascii()
    message.set_content(
        body, charset="us-ascii" if ascii_only else "utf-8", cte="7bit" if ascii_only else "8bit"
    )
    return message.as_bytes(policy=_POLICY).decode("utf-8")


def _date(value: str) -> str:
    """A valid RFC 2822 date, or '' (a hostile or broken Date: header is not copied)."""
    when = parse_date(_header_text(value))
    return "" if when is None else email.utils.format_datetime(when)


def reply_subject(subject: str) -> str:
    """`Re: <subject>`, never `Re: Re:`; control characters and folding collapse to spaces."""
    text = _header_text(subject)
    if _REPLY_PREFIX.match(text):
        text = _REPLY_PREFIX.sub("", text, count=1).strip()
    return f"Re: {text}" if text else "Re: your patch"


def _folded_subject(subject: str) -> str:
    """The Subject value folded at spaces to 78 columns; RFC 2047 words when not ASCII."""
    charset = "us-ascii" if subject.isascii() else "utf-8"
    header = email.header.Header(subject, charset, maxlinelen=78, header_name="Subject")
    return header.encode(linesep="\n")


def _header_text(value: str) -> str:
    """One header line's worth of text: no CR, LF or other control characters."""
    return visible(re.sub(r"\s+", " ", _CONTROL.sub(" ", value)).strip())


def _parse_address(value: str) -> Address | None:
    """`Name <addr>` or a bare address as an Address; None when it is not a usable address."""
    text = _header_text(value)
    match = _NAME_ADDRESS.match(text)
    name, addr = (
        (match.group(1).strip().strip('"'), match.group(2).strip()) if match else ("", text)
    )
    if not re.fullmatch(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+", addr):
        return None
    try:
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError):
        return None


def _recipients(mail: Mail, target: Patch, sender: Address) -> tuple[list[Address], list[Address]]:
    """To: the original sender; Cc: the original To and Cc and the patch author, deduplicated."""
    seen = {sender.addr_spec.lower()}
    to = _unique([email.utils.formataddr((mail.from_name, mail.from_email))], seen)
    author = str(target.author) if target.author.email else ""
    cc = _unique([*mail.to, *mail.cc, author], seen)
    return to, cc


def _unique(values: Iterable[str], seen: set[str]) -> list[Address]:
    result = []
    for value in values:
        address = _parse_address(value) if value else None
        if address is None or address.addr_spec.lower() in seen:
            continue
        seen.add(address.addr_spec.lower())
        result.append(address)
    return result


def _references(mail: Mail) -> list[str]:
    ids = [m for m in (*mail.references, mail.message_id) if is_message_id(m)]
    return list(dict.fromkeys(ids))


def _reply_id(report: Report, reply: _Reply, date: str, sender: Address) -> str:
    """A Message-Id made of what the reply says: the same report on the same date, the same id."""
    content = "\0".join(
        [reply.target.mail.message_id, date, *(f.fingerprint for f in reply.findings)]
    )
    digest = hashlib.sha256(content.encode("utf-8", "replace")).hexdigest()[:20]
    domain = sender.domain if re.fullmatch(r"[A-Za-z0-9.-]+", sender.domain) else "localhost"
    return f"reviewtool-{digest}@{domain}"


# --- body ------------------------------------------------------------------------------------


def _body(
    report: Report, options: RenderOptions, reply: _Reply, sender: Address, message_id: str
) -> str:
    greeting = reply.target.author.name or reply.target.mail.from_name or "there"
    lines = [f"Hi {greeting.split()[0] if greeting.split() else greeting},", ""]
    if not reply.findings:
        lines += _wrap(
            f"reviewtool audited your series and found no issues at or above warning "
            f"severity: {_series_summary(report)}."
        )
    else:
        lines += _wrap(f"reviewtool noticed the following issues: {_counts(reply.findings)}.")
    lines += ["", *_tested(report, options, reply), ""]
    if reply.findings:
        lines += _tags(options, sender, message_id)
        lines += ["", *_findings_section(report, reply), ""]
    lines += _reproduce(report, options, reply)
    lines += [
        "",
        "-- ",
        f"reviewtool {report.tool_version}: review assistant for kernel patch series",
    ]
    return "\n".join(lines) + "\n"


def _series_summary(report: Report) -> str:
    series = report.series
    cover = "with a cover letter" if series.cover else "no cover letter"
    count = len(series.patches)
    return f"v{series.revision}, {count} patch{'' if count == 1 else 'es'}, {cover}"


def _counts(findings: tuple[Finding, ...]) -> str:
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    return ", ".join(plural(n, s.value) for s, n in counts.items() if n)


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def _field(name: str, value: str) -> list[str]:
    return _wrap(value, " " * 15, f"{name + ':':<15}")


def _tested(report: Report, options: RenderOptions, reply: _Reply) -> list[str]:
    """What was audited and how: the 0-day header block."""
    series = report.series
    mail = reply.target.mail
    lines = _field("subject", _header_text(mail.subject))
    lines += _field("message-id", f"<{_header_text(mail.message_id)}>")
    if options.inbox_url and is_message_id(mail.message_id):
        lines += _field("link", message_url(options.inbox_url, mail.message_id))
    lines += _field("series", _series_summary(report))
    tree = report.tree or report.builds
    if tree is not None:
        state = tree.state
        how = {
            "--base": "given with --base",
            "base-commit": "the series' base-commit: line",
            "HEAD": "the tree's HEAD: the series names no base-commit: the tree has",
        }.get(state.base_source, state.base_source)
        lines += _field("base", f"{state.base[:12]} ({how})")
    elif series.base_commit:
        lines += _field("base-commit", f"{series.base_commit[:12]} (not applied: no tree given)")
    lines += _field("rules", _rules_tested(report))
    if report.builds is not None:
        lines += _field("architectures", _arches(report))
    lines += _field("tool", f"reviewtool {report.tool_version}")
    return lines


def _rules_tested(report: Report) -> str:
    series_rules = sum(1 for r in report.rules if r.kind is RuleKind.SERIES)
    text = f"{series_rules} series rules"
    if report.tree is not None:
        ids = ", ".join(a.rule.id for a in report.tree.audits) or "none applied"
        text += f"; call-site contract rules: {ids}"
    return text


def _arches(report: Report) -> str:
    builds = report.builds
    assert builds is not None
    toolchains: dict[str, str] = {}
    for cell in builds.cells:
        if cell.toolchain:
            toolchains.setdefault(cell.arch, cell.toolchain)
    return ", ".join(
        f"{arch} ({toolchains[arch]})" if arch in toolchains else f"{arch} (not built)"
        for arch in builds.arches
    )


def _tags(options: RenderOptions, sender: Address, message_id: str) -> list[str]:
    lines = _wrap(
        "If you fix the issue in a separate patch/commit (i.e. not just a new version of "
        "the same patch/commit), kindly add following tags"
    )
    lines.append(f"| Reported-by: {_display(sender)}")
    if options.inbox_url:
        lines.append(f"| Closes: {message_url(options.inbox_url, message_id)}")
    return lines


def _display(address: Address) -> str:
    """The address as a trailer shows it: unencoded, `Name <addr>`."""
    name = address.display_name
    return f"{name} <{address.addr_spec}>" if name else f"<{address.addr_spec}>"


def _findings_section(report: Report, reply: _Reply) -> list[str]:
    lines: list[str] = []
    groups = dict.fromkeys(f.patch for f in reply.findings)
    for number in groups:
        found = [f for f in reply.findings if f.patch == number]
        lines += _group_heading(report, number, found)
        for finding in found:
            lines += ["", *_finding(report, finding)]
        lines.append("")
    return lines[:-1]


def _group_heading(report: Report, number: int | None, found: list[Finding]) -> list[str]:
    if number is None:
        title = "the series as a whole"
    else:
        member = _member(report, number)
        title = _header_text(member.mail.subject) if member else patch_label(report, number)
    return _wrap(f"{title} ({plural(len(found), 'finding')}):")


def _member(report: Report, number: int) -> Patch | None:
    return next((p for p in report.series.members if p.number == number), None)


def _finding(report: Report, finding: Finding) -> list[str]:
    place = ""
    if finding.path:
        place = f"{finding.path}:{finding.line}" if finding.line else finding.path
        if finding.line and finding.column:
            place += f":{finding.column}"
    head = f">> {place + ': ' if place else ''}{finding.severity.value}: {finding.rule}:"
    lines = [head]
    lines += _wrap(finding.message, "   ")
    lines += _diagnostics(report, finding)
    lines += _evidence(finding)
    lines += _code(report, finding)
    if finding.build is not None and finding.build.reproduce:
        lines += ["", "   reproduce:", f"     {finding.build.reproduce}"]
    return lines


def _diagnostics(report: Report, finding: Finding) -> list[str]:
    """For a build finding, the compiler's own diagnostic line(s) it came from."""
    facts = finding.build
    if facts is None or report.builds is None:
        return []
    lines = []
    for cell in report.builds.cells:
        if (cell.patch, cell.arch) != (finding.patch, facts.arch):
            continue
        for diagnostic in cell.new_diagnostics:
            if (diagnostic.path, diagnostic.line) != (finding.path, finding.line):
                continue
            if diagnostic.identity != facts.diagnostic:
                continue
            column = f"{diagnostic.column}:" if diagnostic.column else ""
            flag = f" [{diagnostic.flag}]" if diagnostic.flag else ""
            if diagnostic.function:
                lines.append(f"   {diagnostic.path}: In function '{diagnostic.function}':")
            lines.append(
                f"   {diagnostic.path}:{diagnostic.line}:{column} "
                f"{diagnostic.severity}: {diagnostic.message}{flag}"
            )
    return ["", *lines] if lines else []


def _evidence(finding: Finding) -> list[str]:
    if not finding.evidence:
        return []
    lines = ["", "   path:"]
    for step in finding.evidence:
        where = f"{step.path}:{step.line}" if step.line else step.path
        lines += _wrap(f"{where} {_header_text(step.note)}".rstrip(), " " * 7, "     ")
    if finding.related:
        lines += ["", "   further uses of the same value:"]
        for use in finding.related:
            where = f"{use.path}:{use.line}" if use.line else use.path
            lines += _wrap(f"{where} {_header_text(use.note)}".rstrip(), " " * 7, "     ")
    return lines


def _code(report: Report, finding: Finding) -> list[str]:
    """The patch's own diff around the finding's line, when the patch adds that line; else
    the tree's lines around it, when the finding carries them."""
    if finding.patch is None or not finding.path or not finding.line:
        return []
    member = _member(report, finding.patch)
    if member is None:
        return _tree_code(finding)
    excerpt = diff_excerpt(member.diff_text, finding.path, finding.line)
    if not excerpt:
        return _tree_code(finding)
    return ["", f"   {finding.path}", *excerpt]


def _tree_code(finding: Finding) -> list[str]:
    """The tree's own lines around a finding the patch does not show (a call site)."""
    if not finding.context:
        return []
    shown = []
    for location in finding.context:
        mark = ">" if location.line == finding.line else " "
        shown.append(f" {mark} {location.line or '':>5}\t{location.note}")
    return ["", f"   {finding.path}", *shown]


def diff_excerpt(diff_text: str, path: str, line: int, radius: int = CONTEXT_LINES) -> list[str]:
    """The lines of diff_text's hunk around the `+` line that becomes `line` of path.

    Each shown line carries its number in the patched file (removed lines have none) and the
    added line in question is marked with `>`, as 0-day's reports mark it. Empty when the patch
    does not add that line.
    """
    rows = _hunk_rows(diff_text, path)
    hit = next(
        (i for i, (number, text) in enumerate(rows) if number == line and text.startswith("+")),
        None,
    )
    if hit is None:
        return []
    start, end = max(0, hit - radius), min(len(rows), hit + radius + 1)
    shown = []
    for index in range(start, end):
        number, text = rows[index]
        if number is None and text.startswith("@@"):
            shown.append(f"   {text}")
            continue
        mark = ">" if index == hit else " "
        label = str(number) if number is not None else ""
        shown.append(f" {mark} {label:>5}\t{text}")
    return shown


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def _hunk_rows(diff_text: str, path: str) -> list[tuple[int | None, str]]:
    """(target line number or None, diff line) for every hunk line of path in diff_text."""
    return _rows_by_path(diff_text).get(path, [])


@functools.lru_cache(maxsize=4)
def _rows_by_path(diff_text: str) -> dict[str, list[tuple[int | None, str]]]:
    """_hunk_rows for every file of a diff at once: a reply quotes many findings of one patch,
    and a patch may be megabytes."""
    files: dict[str, list[tuple[int | None, str]]] = {}
    rows: list[tuple[int | None, str]] | None = None
    number = 0
    for raw in diff_text.split("\n"):
        if raw.startswith("diff --git ") or raw == "-- ":
            rows = None
        elif raw.startswith("+++ "):
            target = raw[4:].split("\t")[0]
            rows = files.setdefault(target.removeprefix("b/"), [])
        elif rows is not None and (match := _HUNK.match(raw)):
            number = int(match.group(1))
            rows.append((None, raw))
        elif rows is not None and raw[:1] in ("+", " "):
            rows.append((number, raw))
            number += 1
        elif rows is not None and raw[:1] == "-":
            rows.append((None, raw))
    return files


def _reproduce(report: Report, options: RenderOptions, reply: _Reply) -> list[str]:
    """Commands, never wrapped: fetch and apply the series, rerun the audit, rerun the builds."""
    series = report.series
    first = series.cover or (series.patches[0] if series.patches else None)
    root = first.mail.message_id if first and is_message_id(first.mail.message_id) else ""
    tree = report.tree or report.builds
    commands = []
    if tree is not None:
        commands.append(f"git checkout {tree.state.base}")
    if root:
        commands.append(f"b4 am -o - {root} > series.mbox")
        commands.append("git am series.mbox")
    audit = ["reviewtool", "audit"]
    if tree is not None:
        audit += ["--tree", ".", "--base", tree.state.base]
    if report.tree is not None:
        for rule_audit in report.tree.audits:
            audit += ["--rule", rule_audit.rule.id]
    if report.builds is not None:
        audit += ["--build", "--arch", ",".join(report.builds.arches)]
    if root and options.inbox_url:
        audit += ["--inbox", options.inbox_url, root]
    else:
        audit.append("series.mbox")
    commands.append(" ".join(audit))
    commands += [f.build.reproduce for f in reply.findings if f.build and f.build.reproduce]
    return ["To reproduce:", "", *(f"        {c}" for c in dict.fromkeys(commands))]
