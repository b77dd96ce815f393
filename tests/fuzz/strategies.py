"""Hypothesis strategies for hostile input: subjects, patch bodies and diffs, MIME messages.

Every generator can produce what a mailing list can carry: control characters and bidi
overrides in any header, RFC 2047 words in charsets Python does not know or cannot decode
with, transfer encodings that the body violates, and multipart nesting of any depth with or
without its closing boundaries. The well-formed variants (`clean_*`, `honest` parts) exist
so that properties about the result, not only about not crashing, can be stated too.

A product bug these find is kept as its smallest failing example in test_regressions.py; while
one is open, the generators may exclude it only under a `KNOWN_BUG_*` name there (none is open).
"""

from __future__ import annotations

import base64
import codecs
import difflib
import quopri
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol, TypeVar

from hypothesis import strategies as st

from reviewtool.intake.mail import Mail

T = TypeVar("T")


class Draw(Protocol):
    """What draws a value: a composite's draw, or st.data()'s `data.draw`."""

    def __call__(self, strategy: st.SearchStrategy[T]) -> T: ...


# The characters that must never reach a terminal raw (tests assert stderr shows them escaped).
ESC, BEL, RLO = "\x1b", "\x07", "\u202e"
RAW_CONTROLS = (ESC, BEL, RLO)
_HOSTILE_CHARS = (ESC, BEL, RLO, "\x00", "\r", "\n", "\t", "\x7f", "\x85", "\x9b", "\u2028",
                  "\u2066", "\ufeff", "\ufffd", "\U0001f600", "é", "ß", "٣")  # fmt: skip

# Charsets a message may declare: real ones, unknown ones, and codecs that are not text
# encodings or refuse the "replace" error handler (undefined, idna).
CHARSETS = ("utf-8", "us-ascii", "iso-8859-1", "koi8-r", "shift_jis", "utf-16", "utf-16-be",
            "utf-7", "undefined", "idna", "x-unknown", "rot13", "base64", "punycode", "uu",
            "hex", "zlib", "unicode-escape", "raw-unicode-escape", "", "UTF8", "é")  # fmt: skip

TRANSFER_ENCODINGS = ("", "7bit", "8bit", "binary", "base64", "BASE64", "quoted-printable",
                      "x-uuencode", "uuencode", "bogus")  # fmt: skip
LEAF_TYPES = ("text/plain", "text/x-patch", "text/x-diff", "text/html", "application/octet-stream",
              "message/rfc822", "multipart/mixed", "text", "", "text/plain/extra")  # fmt: skip


@cache  # strategies are immutable: build each once, not on every draw
def hostile_text(max_size: int = 40, *, min_size: int = 0) -> st.SearchStrategy[str]:
    """Any text, with the characters mail-borne attacks and accidents use made likely."""
    alphabet = st.one_of(st.characters(codec="utf-8"), st.sampled_from(_HOSTILE_CHARS))
    return st.text(alphabet, min_size=min_size, max_size=max_size)


def pick(draw: Draw, options: Sequence[T]) -> T:
    """One of options (st.sampled_from builds a new strategy per call; st.integers is cached,
    and building strategies on every draw was most of the generation time)."""
    return options[draw(st.integers(0, len(options) - 1))]


def one_line(text: str) -> str:
    """Text that cannot end a header: line breaks become spaces."""
    return text.replace("\r", " ").replace("\n", " ")


_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ALNUM = _LOWER + _LOWER.upper() + "0123456789"
_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))


@cache
def chars(alphabet: str, max_size: int, *, min_size: int = 0) -> st.SearchStrategy[str]:
    """Text of these characters (st.text: much faster to draw than st.from_regex)."""
    return st.text(st.sampled_from(alphabet), min_size=min_size, max_size=max_size)


_TOKEN = chars(_ALNUM + "._-", 12)
# Charset names Python's email package refuses outright (CharsetError) are not ASCII.
charsets = st.one_of(
    st.sampled_from(CHARSETS),
    _TOKEN,
    st.sampled_from(["\u00e9", "utf-8\u00e9", "\u0131so-8859-1"]),
)


@cache
@st.composite
def encoded_words(draw: st.DrawFn, charset: st.SearchStrategy[str] = charsets) -> str:
    """An RFC 2047 encoded word: honest (the text encoded as declared) or garbage."""
    name = draw(charset)
    method = pick(draw, "BQbqX")
    if draw(st.booleans()):
        data = draw(hostile_text(20)).encode("utf-8")
        payload = (
            base64.b64encode(data).decode()
            if method in "Bb"
            else quopri.encodestring(data, header=True).decode().replace("\n", "")
        )
    else:
        payload = draw(chars(_PRINTABLE, 24))
    return f"=?{name}?{method}?{payload}?="


@cache
def header_values(charset: st.SearchStrategy[str] = charsets) -> st.SearchStrategy[str]:
    """A header value of one line: text, encoded words, or both."""
    part = st.one_of(hostile_text(30).map(one_line), encoded_words(charset))
    return st.lists(part, max_size=4).map(" ".join)


# -- subjects ----------------------------------------------------------------------------------

_NUMBERS = st.one_of(
    st.integers(0, 40), st.integers(0, 9999), st.integers(0, 10**25), st.sampled_from([6, 5])
)


@cache
@st.composite
def counters(draw: st.DrawFn) -> str:
    """`03/30`-like: random counts, zero padding, huge numbers, sometimes half of it."""
    counter, expected = draw(_NUMBERS), draw(_NUMBERS)
    width = draw(st.integers(0, 5))
    text = f"{counter:0{width}d}/{expected:0{width}d}"
    return pick(draw, [text, text, text.split("/", maxsplit=1)[0] + "/", "/" + text.split("/")[1]])


revisions = st.one_of(st.integers(0, 20), st.integers(0, 10**6)).map(lambda n: f"v{n}")
subject_tokens = st.one_of(
    st.just("PATCH"),
    st.sampled_from(["RFC", "RESEND", "net-next", "PATCHv2", "patch-v3", "V10", "v", "patch-v"]),
    counters(),
    revisions,
    hostile_text(8),
)
_TOKEN_GROUPS = st.lists(st.lists(subject_tokens, max_size=5), max_size=3)


@cache
@st.composite
def subject_lines(draw: st.DrawFn) -> str:
    """Subjects shaped like b4's: reply prefixes, bracket groups of tokens, a title; brackets
    may be unbalanced and any part may carry unicode or control characters."""
    reply = pick(draw, ["", "", "Re: ", "RE: Re: ", "Fwd: ", "AW: ", "Sv:", "re :"])
    groups = draw(_TOKEN_GROUPS)
    separator = pick(draw, [" ", ",", ", ", "  "])
    brackets = []
    for tokens in groups:
        opening, closing = pick(draw, [("[", "]"), ("[", "]"), ("[", ""), ("", "]")])
        brackets.append(f"{opening}{separator.join(tokens)}{closing}")
    title = draw(hostile_text(30))
    return reply + " ".join(brackets) + pick(draw, [" ", "", "  "]) + title


# -- diffs and patch bodies --------------------------------------------------------------------

_NAME = st.builds(str.__add__, chars(_LOWER, 1, min_size=1), chars(_LOWER + "0123456789_", 7))
safe_paths = st.builds(
    lambda parts, ext: "/".join(parts) + ext,
    st.lists(_NAME, min_size=1, max_size=3),
    st.sampled_from([".c", ".h", ".txt", ""]),
)
_ODD_PATHS = ("../../etc/passwd", "a b/c d.c", '"quoted".c', "a\\b.c", ".git/config",
              "/abs/path.c", "dir/../x.c", "tab\there.c", "esc\x1b[2J.c", "rlo\u202ec.exe",
              "uni/ç.c", "-", "a/", "")  # fmt: skip
hostile_paths = st.one_of(
    safe_paths, st.sampled_from(_ODD_PATHS), hostile_text(20, min_size=1).map(one_line)
)
_FILE_LINES = st.lists(chars(_LOWER + "0123456789 ;(){}=*", 24), min_size=1, max_size=10)


@dataclass(frozen=True)
class FileDiff:
    """One generated file diff and what it changes."""

    path: str
    status: str  # modified | added | deleted
    text: str
    added: int
    removed: int


def file_diff(draw: Draw, path: str) -> FileDiff:
    """A valid git diff of one small file: a modification, an addition or a deletion."""
    status = pick(draw, ["modified", "modified", "added", "deleted"])
    old = [] if status == "added" else draw(_FILE_LINES)
    new = [] if status == "deleted" else draw(_FILE_LINES)
    if status == "modified" and old == new:
        new = [*new, "changed"]
    lines = list(difflib.unified_diff(old, new, lineterm=""))[2:]  # no ---/+++: written below
    added = sum(1 for line in lines if line.startswith("+"))
    removed = sum(1 for line in lines if line.startswith("-"))
    head = f"diff --git a/{path} b/{path}\n"
    if status == "added":
        head += f"new file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/{path}\n"
    elif status == "deleted":
        head += f"deleted file mode 100644\nindex 1111111..0000000\n--- a/{path}\n+++ /dev/null\n"
    else:
        head += f"index 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n"
    return FileDiff(path, status, head + "".join(f"{line}\n" for line in lines), added, removed)


_PATHS = st.lists(safe_paths, min_size=1, max_size=3, unique=True)


@cache
@st.composite
def clean_diffs(draw: st.DrawFn) -> list[FileDiff]:
    """One to three valid file diffs on distinct, harmless paths."""
    paths = draw(_PATHS)
    return [file_diff(draw, path) for path in paths]


def diffstat(files: list[FileDiff]) -> str:
    rows = "".join(
        f" {f.path} | {f.added + f.removed} {'+' * f.added}{'-' * f.removed}\n" for f in files
    )
    plural = "file" if len(files) == 1 else "files"
    inserted = sum(f.added for f in files)
    deleted = sum(f.removed for f in files)
    return (
        f"{rows} {len(files)} {plural} changed, {inserted} insertions(+), {deleted} deletions(-)\n"
    )


HUGE = "99999999999999999999"
_BINARY = ("Binary files a/x.bin and b/x.bin differ",
           "GIT binary patch\nliteral 5\nMcmZ?b~x%$\n\nliteral 0\nHcmV?d00001\n")  # fmt: skip


_MUTATIONS = ("counts", "drop", "dup", "binary", "rename", "copy", "noeol", "mode", "garbage",
              "path", "truncate", "hunk", "blank")  # fmt: skip
_LINE_NUMBERS = st.one_of(st.integers(0, 30), st.just(HUGE), st.integers(-5, -1))
_MODES = ("old mode 100644", "new mode 100755", "deleted file mode 100644",
          "new file mode 120000", f"new file mode {HUGE}")  # fmt: skip


def mutate(draw: Draw, text: str) -> str:
    """text with up to four edits a mailer, a hand edit or an attacker makes to a diff."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(lines)))
        kind = pick(draw, _MUTATIONS)
        number = draw(_LINE_NUMBERS)
        if kind == "counts":
            lines = [
                f"@@ -{number},{draw(_NUMBERS)} +{draw(_NUMBERS)},{number} @@"
                if line.startswith("@@")
                else line
                for line in lines
            ]
        elif kind == "drop" and at < len(lines):
            del lines[at]
        elif kind == "dup" and at < len(lines):
            lines.insert(at, lines[at])
        elif kind == "binary":
            lines[at:at] = pick(draw, _BINARY).split("\n")
        elif kind in ("rename", "copy"):
            old, new = draw(hostile_paths), draw(hostile_paths)
            lines[at:at] = ["similarity index 90%", f"{kind} from {old}", f"{kind} to {new}"]
        elif kind == "noeol":
            lines.insert(at, "\\ No newline at end of file")
        elif kind == "mode":
            lines.insert(at, pick(draw, _MODES))
        elif kind == "garbage":
            lines.insert(at, draw(hostile_text(30)))
        elif kind == "path":
            path = draw(hostile_paths)
            header = pick(draw, ["--- a/{}", "+++ b/{}", "diff --git a/{} b/{}"])
            lines.insert(at, header.format(path, path))
        elif kind == "truncate":
            return "\n".join(lines)[: draw(st.integers(0, len(text)))]
        elif kind == "hunk":
            lines.insert(at, f"@@ -{number} +{HUGE},{number} @@ {draw(hostile_text(10))}")
        elif kind == "blank":
            lines.insert(at, "")
    return "\n".join(lines)


SIGNOFF = "Signed-off-by: Ann Author <ann@example.org>"
_MESSAGE = chars(_ALNUM + " .,()", 60)


def patch_text(message: str, files: list[FileDiff], *, stat: str | None = None) -> str:
    """A git format-patch body: message, sign-off, `---`, diffstat, diff, signature."""
    shown = diffstat(files) if stat is None else stat
    diff = "".join(f.text for f in files)
    return f"{message}\n\n{SIGNOFF}\n---\n{shown}\n{diff}-- \n2.39.5\n"


@cache
@st.composite
def patch_bodies(draw: st.DrawFn, *, mutated: bool = True) -> str:
    """A patch email body; mutated, possibly corrupted anywhere after the message."""
    files = draw(clean_diffs())
    body = patch_text(draw(_MESSAGE), files)
    return mutate(draw, body) if mutated else body


# -- whole messages ----------------------------------------------------------------------------


def _encode(text: str, charset: str) -> bytes:
    """text in charset when Python can encode it so, else UTF-8 (the declaration then lies)."""
    try:
        info = codecs.lookup(charset)
        if getattr(info, "_is_text_encoding", True):
            return text.encode(info.name)
    except (LookupError, UnicodeError, ValueError, TypeError):
        pass
    return text.encode("utf-8", "surrogatepass")


_LEAF_TEXT = st.one_of(patch_bodies(), hostile_text(120))


@cache
@st.composite
def leaf_entities(
    draw: st.DrawFn, charset: st.SearchStrategy[str] = charsets, *, patch: bool = True
) -> bytes:
    """A non-multipart MIME entity (headers, blank line, body): any type, charset and transfer
    encoding; the body (a patch or any text) follows its encoding (honest) or violates it, and
    may be cut short."""
    content_type = pick(draw, LEAF_TYPES)
    name = draw(charset)
    encoding = pick(draw, TRANSFER_ENCODINGS)
    text = draw(_LEAF_TEXT if patch else hostile_text(60))
    data = _encode(text, name)
    honest = draw(st.booleans())
    if honest and encoding.lower() == "base64":
        payload = base64.encodebytes(data)
    elif honest and encoding == "quoted-printable":
        payload = quopri.encodestring(data)
    elif draw(st.integers(0, 4)) == 0:
        payload = draw(st.binary(max_size=200))
    else:
        payload = data
    if draw(st.integers(0, 5)) == 0:
        payload = payload[: draw(st.integers(0, len(payload)))]
    fields = []
    if content_type:
        filename = pick(draw, ["", '; name="0001-x.patch"', "; filename=x.diff"])
        fields.append(f'Content-Type: {content_type}; charset="{name}"{filename}')
    if encoding:
        fields.append(f"Content-Transfer-Encoding: {encoding}")
    return "".join(f"{field}\n" for field in fields).encode() + b"\n" + payload


def multipart(
    inner: bytes,
    boundary: str,
    *,
    closed: bool = True,
    before: tuple[bytes, ...] = (),
    after: tuple[bytes, ...] = (),
    subtype: str = "mixed",
    preamble: bytes = b"",
) -> bytes:
    """A multipart entity holding inner between its siblings; without its closing boundary
    when not closed."""
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\n\n'.encode()
    delimiter = b"--" + boundary.encode("utf-8", "surrogatepass")
    body = preamble + b"".join(
        delimiter + b"\n" + part + b"\n" for part in (*before, inner, *after)
    )
    return head + body + (delimiter + b"--\n" if closed else b"")


_BOUNDARY = chars(_ALNUM + "'()+_,./:=?-", 20)
_IDS = st.builds("{}@{}".format, chars(_LOWER + "0123456789.", 8, min_size=1), chars(_LOWER, 5))
_ZONES = ("GMT", "EST", "-0000", "+2400", "XYZ", "")
dates = st.one_of(
    st.builds(
        "{}, {} {} {:04d} {:02d}:{:02d}:{:02d} {}".format,
        st.sampled_from(["Mon", "Fri", "Xyz"]),
        st.integers(0, 40),
        st.sampled_from(["Jan", "Feb", "Dec", "Foo"]),
        st.one_of(st.integers(0, 9999), st.integers(0, 10**25)),
        st.integers(0, 30),
        st.integers(0, 70),
        st.integers(0, 70),
        st.one_of(
            st.integers(-9999, 9999).map("{:+05d}".format),
            st.integers(-(10**30), 10**30).map("{:+05d}".format),
            st.sampled_from(_ZONES),
        ),
    ),
    hostile_text(30).map(one_line),
)


_REFERENCES = st.lists(_IDS, max_size=5)
_FIELD_NAME = chars(_PRINTABLE.replace(":", ""), 12, min_size=1)


@cache
@st.composite
def top_headers(
    draw: st.DrawFn, *, charset: st.SearchStrategy[str] = charsets, hostile: bool = True
) -> bytes:
    """The header block of a message, without its ending blank line. Not hostile: only
    well-formed From/Subject/Date/Message-Id/References fields, no MIME fields."""
    ident = draw(_IDS)
    values = header_values(charset)
    fields = [
        ("From", draw(header_values(charset)) if draw(st.booleans()) else "Ann <ann@ex.org>"),
        ("Subject", one_line(draw(subject_lines())) if draw(st.booleans()) else draw(values)),
        ("Date", draw(dates)),
        ("Message-Id", f"<{ident}>"),
        ("References", " ".join(f"<{i}>" for i in draw(_REFERENCES))),
        ("MIME-Version", "1.0"),
    ]
    if hostile:
        for _ in range(draw(st.integers(0, 4))):
            fields.append((draw(_FIELD_NAME), draw(values)))
        fields = draw(st.permutations(fields))
    else:
        fields = [(k, one_line(v)) for k, v in fields]
    return b"".join(f"{k}: {v}\n".encode("utf-8", "surrogatepass") for k, v in fields)


@dataclass(frozen=True)
class Generated:
    """A generated message and how deep its multipart parts nest (1: not multipart)."""

    raw: bytes
    depth: int


@cache
@st.composite
def mime_messages(
    draw: st.DrawFn,
    *,
    min_depth: int = 0,
    max_depth: int = 40,
    charset: st.SearchStrategy[str] = charsets,
    hostile: bool = True,
) -> Generated:
    """An RFC 2822 message whose body is a leaf entity wrapped in multipart levels; each level
    has a distinct boundary and may lack its closing boundary. Hostile: siblings at each level,
    preambles, an mbox From line, CRLF line ends."""
    deep = draw(st.booleans())  # half shallow: most mail nests a level or two
    levels = draw(st.integers(min_depth, max_depth if deep else min(max_depth, min_depth + 3)))
    entity = draw(leaf_entities(charset)) if hostile else b"Content-Type: text/plain\n\nx\n"
    # Per-level choices drawn in bulk: a hundred levels must not cost a hundred leaf draws.
    closed = draw(st.lists(st.booleans(), min_size=levels, max_size=levels))
    base, subtype, preamble = draw(_BOUNDARY), draw(st.integers(0, 3)), draw(st.booleans())
    with_siblings = set(draw(st.lists(st.integers(0, max(levels - 1, 0)), max_size=3)))
    for level in range(levels):
        siblings = hostile and level in with_siblings
        entity = multipart(
            entity,
            f"=_{level}_{base}",
            closed=closed[level],
            before=(draw(leaf_entities(charset, patch=False)),) if siblings else (),
            after=(draw(leaf_entities(charset, patch=False)),) if siblings else (),
            subtype=("mixed", "alternative", "signed", "x-unknown")[(subtype + level) % 4],
            preamble=b"preamble\n" if preamble else b"",
        )
    raw = draw(top_headers(charset=charset, hostile=hostile)) + entity
    if hostile and draw(st.booleans()):
        raw = b"From 1234 Mon Sep 17 00:00:00 2001\n" + raw
    if hostile and draw(st.integers(0, 4)) == 0:
        raw = raw.replace(b"\n", b"\r\n")
    return Generated(raw, levels + 1)


def messages(charset: st.SearchStrategy[str] = charsets) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, or a generated message of any shape."""
    generated = mime_messages(charset=charset).map(lambda g: g.raw)
    return st.one_of(st.binary(max_size=2000), generated, generated)


def mail(body: str, *, subject: str = "[PATCH] mm: x", message_id: str = "x@example.org") -> Mail:
    """A decoded Mail with this body (what parse_patch and build_series read)."""
    return Mail(
        origin="fuzz.mbox",
        index=1,
        subject=subject,
        from_name="Ann Author",
        from_email="ann@example.org",
        date="Fri, 15 Jan 2021 12:08:38 -0500",
        message_id=message_id,
        in_reply_to="",
        references=(),
        to=(),
        cc=(),
        body=body,
    )
