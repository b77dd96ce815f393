"""Reading mail: mbox/mboxrd files, maildirs, format-patch files and stdin into decoded messages.

Decoding follows what `git mailinfo` does for `git am`: MIME transfer encodings are undone,
bodies are decoded from their declared charset (unknown bytes are replaced, never fatal), CRLF
becomes LF, and RFC 2047 encoded words in headers are decoded.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.errors
import email.message
import email.parser
import email.policy
import email.utils
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from reviewtool.errors import InputError

# A mailbox separator: "From <sender> <asctime>" (mbox, mboxrd, git format-patch).
_SEPARATOR = re.compile(rb"^From \S+ +\S.*\d{1,2}:\d\d(?::\d\d)? .*\d{4}\s*$", re.MULTILINE)
_MBOXRD_QUOTED = re.compile(rb"^>(>*From )", re.MULTILINE)
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:[ \t]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# MIME defects that mean the body cannot be trusted.
_FATAL_DEFECTS = {
    email.errors.StartBoundaryNotFoundDefect: "multipart boundary never appears in the body",
    email.errors.NoBoundaryInMultipartDefect: "multipart message has no boundary parameter",
    email.errors.MultipartInvariantViolationDefect: "multipart structure is inconsistent",
    email.errors.InvalidBase64CharactersDefect: "base64 body contains invalid characters",
    email.errors.InvalidBase64PaddingDefect: "base64 body is truncated or badly padded",
    email.errors.InvalidBase64LengthDefect: "base64 body has an invalid length",
}


@dataclass(frozen=True)
class Source:
    """One input: a file, a maildir or directory, or bytes read from stdin (path None)."""

    name: str
    path: Path | None = None
    data: bytes | None = None


@dataclass(frozen=True)
class Mail:
    """One decoded message, with where it came from.

    `problem` is set when the message cannot be used (broken MIME, truncated headers); the
    series layer decides whether that is fatal.
    """

    origin: str
    index: int
    subject: str
    from_name: str
    from_email: str
    date: str
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    to: tuple[str, ...]
    cc: tuple[str, ...]
    body: str
    problem: str = ""
    raw_subject: str = ""  # before control characters were dropped (checks look for them)

    @property
    def where(self) -> str:
        """How error messages name this message."""
        ident = f" <{self.message_id}>" if self.message_id else ""
        subject = f' "{self.subject}"' if self.subject else ""
        return f"{self.origin}: message {self.index}{ident}{subject}"


def read_sources(sources: Sequence[Source]) -> list[Mail]:
    """Every message of every source, in input order."""
    mails: list[Mail] = []
    for source in sources:
        for origin, raw in _raw_messages(source):
            mails.append(parse_mail(raw, origin=origin, index=len(mails) + 1))
    if not mails:
        raise InputError("no messages found in " + ", ".join(s.name for s in sources))
    return mails


def _raw_messages(source: Source) -> Iterator[tuple[str, bytes]]:
    if source.data is not None:
        yield from split_messages(source.name, source.data)
        return
    path = source.path if source.path is not None else Path(source.name)
    if path.is_dir():
        yield from _read_directory(source.name, path)
    elif path.is_file():
        yield from split_messages(source.name, _read_bytes(path))
    elif not path.exists():
        raise InputError(f"{source.name}: no such file or directory")
    else:
        raise InputError(f"{source.name}: not a regular file or directory")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from error


def _read_directory(name: str, path: Path) -> Iterator[tuple[str, bytes]]:
    """A maildir (cur/ and new/, oldest first) or a directory of patch files (by name)."""
    if (path / "cur").is_dir() and (path / "new").is_dir():
        files = [f for sub in ("cur", "new") for f in (path / sub).iterdir() if f.is_file()]
        files.sort(key=lambda f: (f.stat().st_mtime, f.name))
    else:
        files = sorted(f for f in path.iterdir() if f.is_file() and not f.name.startswith("."))
    if not files:
        raise InputError(f"{name}: directory holds no messages")
    for file in files:
        yield from split_messages(f"{name}/{file.name}", _read_bytes(file))


def split_messages(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """The raw messages of one file: an mbox/mboxrd (`name#N` each) or a single message."""
    if not data.strip():
        raise InputError(f"{name}: empty file")
    if b"\0" in data[:65536]:
        raise InputError(f"{name}: binary data, not an mbox, maildir or patch file")
    start = data.lstrip(b"\r\n")
    if _SEPARATOR.match(start):
        yield from _split_mbox(name, start)
    elif _HEADER_LINE.match(start):
        yield name, start
    else:
        raise InputError(f"{name}: not an mbox, maildir or patch file (no mail headers)")


def _split_mbox(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    mboxrd = data.startswith(b"From mboxrd@z ")
    starts = [m.start() for m in _SEPARATOR.finditer(data)]
    # A separator only counts at the start or after a blank line, as mbox writers emit it.
    starts = [s for s in starts if s == 0 or data[max(0, s - 2) : s] in (b"\n\n", b"\r\n")]
    for number, (begin, end) in enumerate(
        zip(starts, [*starts[1:], len(data)], strict=True), start=1
    ):
        chunk = data[begin:end]
        chunk = chunk[chunk.find(b"\n") + 1 :] if b"\n" in chunk else b""
        if mboxrd:
            chunk = _MBOXRD_QUOTED.sub(rb"\1", chunk)
        if chunk.endswith((b"\n\n", b"\r\n\r\n")):
            chunk = chunk[: -2 if chunk.endswith(b"\r\n") else -1]  # the blank line before "From "
        yield f"{name}#{number}", chunk


def parse_mail(raw: bytes, *, origin: str, index: int) -> Mail:
    """Decode one RFC 2822 message."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        too_deep = _mime_depth(message) > MAX_MIME_DEPTH
    except RecursionError:  # the stdlib parser recurses per nested multipart
        too_deep = True
    if too_deep:
        # the headers are still the message's: the series can name it; the body is not read
        message = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        problem = f"broken MIME: multipart parts nested deeper than {MAX_MIME_DEPTH} levels"
        body, body_problem = "", ""
    else:
        problem = _structure_problem(raw, message)
        body, body_problem = _decode_body(message)
    return Mail(
        origin=origin,
        index=index,
        subject=_clean(header(message, "Subject")),
        from_name=_address(message, "From")[0],
        from_email=_address(message, "From")[1],
        date=header(message, "Date"),
        message_id=_message_id(header(message, "Message-Id")),
        in_reply_to=_message_id(header(message, "In-Reply-To")),
        references=_bounded_references(_message_ids(header(message, "References"))),
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        body=body,
        problem=problem or body_problem,
        raw_subject=header(message, "Subject"),
    )


# Mail clients nest a handful of multipart levels (a signed message with an attachment is 3);
# deeper is hostile or broken, and the stdlib parser and walk() recurse per level.
MAX_MIME_DEPTH = 16


def _mime_depth(message: email.message.Message) -> int:
    """How deep multipart parts nest (1: not multipart), without recursion."""
    deepest = 0
    stack: list[tuple[email.message.Message, int]] = [(message, 1)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_MIME_DEPTH:
            break
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend(
                (child, depth + 1) for child in payload if isinstance(child, email.message.Message)
            )
    return deepest


def _structure_problem(raw: bytes, message: email.message.Message) -> str:
    if b"\n\n" not in raw.replace(b"\r\n", b"\n") and not raw.endswith(b"\n"):
        return "truncated: the headers never end"
    if not message.keys():
        return "no mail headers"
    for defect in message.defects:
        for kind, text in _FATAL_DEFECTS.items():
            if isinstance(defect, kind):
                return f"broken MIME: {text}"
    return ""


def header(message: email.message.Message, name: str) -> str:
    """A header's value with RFC 2047 words decoded and folding undone; '' when absent."""
    values = _raw_values(message, name)
    return decode_words(values[0]) if values else ""


def _raw_values(message: email.message.Message, name: str) -> list[str]:
    """Every value of a header as it was sent: raw 8-bit bytes as surrogate escapes.

    (get() would wrap such a value in a Header of unknown-8bit whose str() has already
    replaced each byte, so a raw UTF-8 subject could never be read as UTF-8.)
    """
    wanted = name.lower()
    return [str(v) for k, v in message.raw_items() if k.lower() == wanted]


def parse_date(value: str) -> datetime | None:
    """A Date: header as an aware datetime (naive dates are UTC), or None when it is not one.

    The stdlib raises TypeError, ValueError, IndexError or OverflowError (a zone offset or a
    year too large for C) for hostile dates; all of them mean "no usable date".
    """
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words and undo folding; never fails.

    Raw 8-bit header bytes (surrogate escapes) are read as UTF-8, which is what mailers that
    send them use. A word in a charset Python cannot use decodes as UTF-8 with replacement
    characters, like a body (decode_charset); a word whose payload is not valid base64 stays
    as it came. Whitespace between two adjacent words goes, as RFC 2047 says. (The stdlib's
    decode_header() is not used: it returns unencoded runs as raw-unicode-escape bytes,
    which turns a literal `\\u0041` in a subject into `A`.)
    """
    value = value.replace("\r", "").encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    pieces = []
    end = 0
    for word in _ENCODED_WORD.finditer(value):
        between = value[end : word.start()]
        if end == 0 or between.strip():
            pieces.append(between)
        pieces.append(_decode_word(word))
        end = word.end()
    pieces.append(value[end:])
    return re.sub(r"\n[ \t]+", " ", "".join(pieces)).strip()


# =?charset[*language]?B|Q?text?= (RFC 2047, with RFC 2231's language suffix)
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _decode_word(word: re.Match[str]) -> str:
    charset, encoding, text = word.groups()
    data = text.encode("utf-8")
    if encoding in "bB":
        try:
            data = base64.b64decode(data + b"=" * (-len(data) % 4))
        except binascii.Error:
            return word.group()
    else:
        data = _QP_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), data.replace(b"_", b" "))
    return decode_charset(data, charset)


def _clean(text: str) -> str:
    """Collapse folding whitespace and drop control characters (a subject is one line)."""
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", text)).strip()


def _address(message: email.message.Message, name: str) -> tuple[str, str]:
    values = _raw_values(message, name)
    if not values:
        return "", ""
    name_part, address = email.utils.parseaddr(values[0].replace("\r", ""))
    return _clean(decode_words(name_part)), address.strip()


def _addresses(message: email.message.Message, name: str) -> tuple[str, ...]:
    values = [v.replace("\r", "") for v in _raw_values(message, name)]
    result = []
    for raw_name, address in email.utils.getaddresses(values):
        if not address:
            continue
        display = _clean(decode_words(raw_name))
        result.append(format_address(display, address))
    return tuple(result)


def _message_id(value: str) -> str:
    ids = _message_ids(value)
    return ids[0] if ids else value.strip().strip("<>")


# A References header longer than this keeps its first and last ids (the thread's root and
# the nearest ancestors: what threading needs), as public-inbox bounds what it indexes.
MAX_REFERENCES = 100


def _bounded_references(ids: list[str]) -> tuple[str, ...]:
    if len(ids) <= MAX_REFERENCES:
        return tuple(ids)
    return (*ids[:10], *ids[-(MAX_REFERENCES - 10) :])


def _message_ids(value: str) -> list[str]:
    return re.findall(r"<([^<>\s]+)>", value)


def _decode_body(message: email.message.Message) -> tuple[str, str]:
    """The text of the message, as git mailinfo would see it, and any decoding problem."""
    texts: list[str] = []
    problem = ""
    for part in _text_parts(message):
        payload = part.get_payload(decode=True)
        for defect in part.defects:
            for kind, text in _FATAL_DEFECTS.items():
                if isinstance(defect, kind) and not problem:
                    problem = f"broken MIME: {text}"
        if not isinstance(payload, bytes):
            continue
        texts.append(decode_text(payload, part.get_content_charset() or "utf-8"))
    return "\n".join(texts), problem


def _text_parts(message: email.message.Message) -> Iterator[email.message.Message]:
    if not message.is_multipart():
        yield message
        return
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = part.get_filename() or ""
        if content_type.startswith("text/") or filename.endswith((".patch", ".diff")):
            yield part


def decode_text(payload: bytes, charset: str) -> str:
    """The payload decoded with its declared charset (decode_charset), CRLF as LF."""
    return decode_charset(payload, charset).replace("\r\n", "\n")


def decode_charset(payload: bytes, charset: str) -> str:
    """Bytes decoded with a declared charset; a charset Python does not know, one that is not a
    text encoding (`undefined`, `idna`, `rot13`, `base64`) or one that fails anyway decodes as
    UTF-8 with replacement characters, never fatally."""
    try:
        codec = codecs.lookup(charset)
        if not getattr(codec, "_is_text_encoding", True) or codec.name in _UNUSABLE_CODECS:
            raise LookupError(charset)
        return payload.decode(codec.name, "replace")
    except (LookupError, UnicodeError, ValueError, TypeError):
        return payload.decode("utf-8", "replace")


# codecs that are text encodings to Python but cannot decode mail with "replace"
_UNUSABLE_CODECS = frozenset({"undefined", "idna", "punycode", "raw-unicode-escape",
                              "unicode-escape", "uu"})  # fmt: skip


def format_address(name: str, address: str) -> str:
    """'Name <address>', or the address alone."""
    return f"{name} <{address}>" if name else address


def check_size(source: Source, limit: int | None) -> None:
    """Refuse a file, or a directory's messages together, larger than limit, before reading."""
    if limit is None or source.path is None:
        return
    path = source.path
    try:
        if path.is_dir():
            inner = [path / "cur", path / "new"] if (path / "cur").is_dir() else [path]
            size = sum(f.stat().st_size for d in inner for f in d.iterdir() if f.is_file())
        elif path.is_file():
            size = path.stat().st_size
        else:
            return  # reading it says what is wrong
    except OSError as error:
        raise InputError(f"{source.name}: cannot read: {error.strerror}") from error
    if size > limit:
        raise InputError(
            f"{source.name}: {_mib(size)} is over the input size limit of {_mib(limit)}"
        )


def read_bounded(stream: BinaryIO, name: str, limit: int | None) -> bytes:
    """At most limit bytes of stream; more than that is refused without reading it all."""
    if limit is None:
        return stream.read()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{name}: more than the input size limit of {_mib(limit)}")
    return data


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size} bytes"
