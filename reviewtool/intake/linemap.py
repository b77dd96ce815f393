"""Line numbers in the message a checker was fed, the way checkpatch's `--terse` output counts.

checkpatch prints `-:12: WARNING: ...` where 12 is the line of its input, and b4 reads that
number back from the very bytes it fed the command. So every number here is a 1-based line of
the input as given: an mbox `From ` line, the headers and the body; CRLF or LF. A
quoted-printable body is mapped back to its encoded lines (a line that the encoder broke with
soft line breaks has the number of its first encoded line). A base64 body has no lines of its
own, so its decoded lines are numbered as if the decoded text stood where the body starts.

b4 feeds check commands each message with the body already decoded but the original
`Content-Transfer-Encoding:` header kept (`LoreMessage.get_msg_as_bytes`), and the text of a
multipart message under its multipart headers; `effective_encoding` and `real_multipart` tell a
body that is what its headers say from one that is already decoded.
"""

from __future__ import annotations

import base64
import binascii
import email.message
import email.parser
import email.policy
import quopri
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from reviewtool.intake.mail import MAX_MIME_DEPTH, decode_charset

_HEADER_FIELD = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_GIT_HEADER = re.compile(r"^diff --git (?:\"?a/)?(.+?)\"? (?:\"?b/)?(.+?)\"?$")
_BASE64_LINE = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")
_QP_ESCAPE = re.compile(rb"=(?![0-9A-Fa-f]{2})(?![ \t]*$)")
_STAT_SUMMARY = re.compile(r"^ \d+ files? changed")


@dataclass(frozen=True)
class BodyLine:
    """One decoded body line and the input line it came from."""

    number: int
    text: str


@dataclass(frozen=True)
class MessageLines:
    """Where things are in one input message, by 1-based input line.

    `message_end` is the line that ends the commit message (`---` or the first `diff --git`);
    `added` and `context` map (path, post-image line) to the line of the diff that shows it;
    `files` maps a path to the first line of its diff.
    """

    subject: int
    subject_text: str
    body: tuple[BodyLine, ...]
    message_end: int
    added: dict[tuple[str, int], int] = field(default_factory=dict, hash=False, compare=False)
    context: dict[tuple[str, int], int] = field(default_factory=dict, hash=False, compare=False)
    files: dict[str, int] = field(default_factory=dict, hash=False, compare=False)

    def text_of(self, number: int) -> str:
        """The decoded text of input line `number` (a body line or the Subject: header)."""
        if number == self.subject:
            return self.subject_text
        for line in self.body:
            if line.number == number:
                return line.text
        return ""

    def in_message(self, number: int) -> bool:
        """Whether line `number` is a header or in the commit message (before the diff)."""
        return 0 < number < self.message_end

    def post_image(self, path: str, line: int) -> int | None:
        """The diff line that shows `line` of `path` after the patch: its `+` line if added."""
        return self.added.get((path, line)) or self.context.get((path, line))

    def trailer(self, prefix: str, *, first: bool = False) -> int | None:
        """The commit-message line that starts with `prefix` (case-insensitive); the last one,
        or the first with first=True."""
        wanted = _squeeze(prefix)
        found = [
            line.number
            for line in self.body
            if line.number < self.message_end and _squeeze(line.text).startswith(wanted)
        ]
        if not found:
            return None
        return found[0] if first else found[-1]

    def diffstat_summary(self) -> int | None:
        """The ` N files changed, ...` line of the diffstat, when there is one."""
        for line in self.body:
            if _STAT_SUMMARY.match(line.text):
                return line.number
        return None


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def map_message(raw: bytes) -> MessageLines:
    """Number the lines of one message as its input bytes lay them out."""
    lines = [line.rstrip(b"\r") for line in raw.split(b"\n")]
    if lines and lines[-1] == b"":
        lines.pop()
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if (
        start < len(lines)
        and lines[start].startswith(b"From ")
        and not _HEADER_FIELD.match(lines[start])
    ):
        start += 1  # the mbox or format-patch envelope line
    body = tuple(_entity(lines, start, len(lines), top=True))
    added, context, files = _diff_places(body)
    subject = _subject_line(lines, start)
    return MessageLines(
        subject=subject,
        subject_text=_decode(lines[subject - 1], "utf-8") if subject else "",
        body=body,
        message_end=_message_end(body, len(lines)),
        added=added,
        context=context,
        files=files,
    )


def effective_encoding(declared: str, body: Sequence[bytes]) -> str:
    """The transfer encoding the body is really in: the declared one, or `8bit` when the body
    cannot be in it (b4 hands over bodies already decoded under their original header)."""
    declared = declared.strip().lower()
    if declared == "base64":
        text = [line.strip() for line in body if line.strip()]
        if text and all(_BASE64_LINE.match(line) for line in text):
            return declared
        return "8bit"
    if declared == "quoted-printable":
        if any(_QP_ESCAPE.search(line) or max(line, default=0) > 0x7E for line in body):
            return "8bit"  # a bare `=` or an 8-bit byte: not quoted-printable
        return declared
    return declared or "7bit"


def real_multipart(headers: email.message.Message, body: Sequence[bytes]) -> bool:
    """Whether a multipart body has its boundary lines (b4 feeds the text without them)."""
    boundary = headers.get_boundary()
    if headers.get_content_maintype() != "multipart" or not boundary:
        return False
    delimiter = b"--" + boundary.encode("utf-8", "replace")
    return any(line.rstrip().startswith(delimiter) for line in body)


def parse_headers(block: Sequence[bytes]) -> email.message.Message:
    """The header block of an entity, parsed (compat32, as reviewtool.mail reads mail)."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    return parser.parsebytes(b"\n".join(block) + b"\n\n")


def header_end(lines: Sequence[bytes], start: int, end: int) -> int:
    """The index of the blank line that ends the headers starting at `start` (or `end`)."""
    for index in range(start, end):
        if not lines[index].strip():
            return index
    return end


def _subject_line(lines: Sequence[bytes], start: int) -> int:
    for index in range(start, header_end(lines, start, len(lines))):
        if lines[index][:8].lower() == b"subject:":
            return index + 1
    return 0


def _entity(
    lines: Sequence[bytes], start: int, end: int, *, top: bool, depth: int = 1
) -> Iterator[BodyLine]:
    """The decoded text lines of a MIME entity spanning lines[start:end] (parts nested deeper
    than the mail reader reads give none: that message is unparseable there too)."""
    blank = header_end(lines, start, end)
    headers = parse_headers(lines[start:blank])
    body_start = min(blank + 1, end)
    if real_multipart(headers, lines[body_start:end]):
        if depth >= MAX_MIME_DEPTH:
            return
        for part_start, part_end in _parts(lines, body_start, end, headers.get_boundary() or ""):
            yield from _entity(lines, part_start, part_end, top=False, depth=depth + 1)
        return
    if not top and headers.get_content_maintype() != "multipart" and not _is_text(headers):
        return
    charset = headers.get_content_charset() or "utf-8"
    declared = str(headers.get("Content-Transfer-Encoding", ""))
    encoding = effective_encoding(declared, lines[body_start:end])
    if encoding == "base64":
        yield from _base64_lines(lines, body_start, end, charset)
    elif encoding == "quoted-printable":
        yield from _quoted_printable_lines(lines, body_start, end, charset)
    else:
        for index in range(body_start, end):
            yield BodyLine(index + 1, _decode(lines[index], charset))


def _is_text(headers: email.message.Message) -> bool:
    filename = headers.get_filename() or ""
    return headers.get_content_maintype() == "text" or filename.endswith((".patch", ".diff"))


def _parts(
    lines: Sequence[bytes], start: int, end: int, boundary: str
) -> Iterator[tuple[int, int]]:
    delimiter = b"--" + boundary.encode("utf-8", "replace")
    part_start: int | None = None
    for index in range(start, end):
        line = lines[index].rstrip()
        if line == delimiter + b"--":
            if part_start is not None:
                yield part_start, index
            return
        if line == delimiter:
            if part_start is not None:
                yield part_start, index
            part_start = index + 1
    if part_start is not None:
        yield part_start, end


def _base64_lines(lines: Sequence[bytes], start: int, end: int, charset: str) -> Iterator[BodyLine]:
    try:
        data = base64.b64decode(b"".join(line.strip() for line in lines[start:end]))
    except (binascii.Error, ValueError):
        data = b"\n".join(lines[start:end])
    text = _decode(data, charset).replace("\r\n", "\n")
    for offset, line in enumerate(text.split("\n")):
        yield BodyLine(start + 1 + offset, line)


def _quoted_printable_lines(
    lines: Sequence[bytes], start: int, end: int, charset: str
) -> Iterator[BodyLine]:
    pending = b""
    first = start + 1
    for index in range(start, end):
        line = lines[index]
        if not pending:
            first = index + 1
        if line.endswith(b"="):  # a soft line break: the text goes on in the next line
            pending += quopri.decodestring(line[:-1])
            continue
        pending += quopri.decodestring(line)
        for piece in pending.split(b"\n"):
            yield BodyLine(first, _decode(piece, charset).rstrip("\r"))
        pending = b""
    if pending:
        yield BodyLine(first, _decode(pending, charset))


def _decode(data: bytes, charset: str) -> str:
    """As the mail reader decodes: a charset that cannot decode falls back to UTF-8."""
    return decode_charset(data, charset)


def _message_end(body: Sequence[BodyLine], total: int) -> int:
    """The first `---` or `diff --git` line: what b4 calls the end of the commit log."""
    for line in body:
        if line.text.rstrip() == "---" or line.text.startswith("diff --git "):
            return line.number
    return total + 1


def _diff_places(
    body: Sequence[BodyLine],
) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int], dict[str, int]]:
    """Walk the diff: which input line shows each post-image line of each file."""
    added: dict[tuple[str, int], int] = {}
    context: dict[tuple[str, int], int] = {}
    files: dict[str, int] = {}
    path = old_path = ""
    file_start = 0
    old_left = new_left = new_line = 0
    for line in body:
        text = line.text
        if old_left > 0 or new_left > 0:
            marker = text[:1]
            if marker == "+":
                added[(path, new_line)] = line.number
                new_line, new_left = new_line + 1, new_left - 1
                continue
            if marker == "-":
                old_left -= 1
                continue
            if marker == "\\":
                continue
            if marker in (" ", ""):  # mailers drop the space of an empty context line
                context[(path, new_line)] = line.number
                new_line, old_left, new_left = new_line + 1, old_left - 1, new_left - 1
                continue
            old_left = new_left = 0  # a mangled hunk ended early; read on as headers
        if match := _GIT_HEADER.match(text):
            old_path, path, file_start = match.group(1), match.group(2), line.number
            files.setdefault(path, file_start)
        elif text.startswith("--- ") and not text.startswith("--- /dev/null"):
            old_path = _strip_prefix(text[4:])
            file_start = file_start or line.number
        elif text.startswith("+++ "):
            target = _strip_prefix(text[4:])
            path = old_path if target == "/dev/null" else target
            files.setdefault(path, file_start or line.number)
            file_start = 0
        elif (hunk := _HUNK.match(text)) and path:
            old_left = int(hunk.group(1) if hunk.group(1) is not None else 1)
            new_line = int(hunk.group(2))
            new_left = int(hunk.group(3) if hunk.group(3) is not None else 1)
            file_start = 0
    return added, context, files


def _strip_prefix(name: str) -> str:
    name = name.split("\t", 1)[0].strip().strip('"')
    if name == "/dev/null":
        return name
    return name[2:] if name[:2] in ("a/", "b/") else name
