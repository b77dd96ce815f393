"""One series message split as `git mailinfo` splits it, with the diff parsed by unidiff.

Layout of a patch email body:

    [in-body From:/Subject:/Date: lines, blank line]
    commit message, ending with a trailer block (Signed-off-by: ...)
    ---
    notes (changelog) and the diffstat block
    diff --git ...
    -- (signature)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reviewtool.errors import MessageError
from reviewtool.intake.mail import Mail, format_address
from reviewtool.intake.subject import Subject, parse_subject

if TYPE_CHECKING:
    from unidiff.patch import Hunk as UnidiffHunk
    from unidiff.patch import PatchedFile

_DIFF_START = re.compile(r"^(diff --git |Index: |--- (?:a/|/dev/null)\S*)", re.MULTILINE)
_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)
_IN_BODY_HEADER = re.compile(r"^(From|Subject|Date):[ \t]*(.*)$")
_TRAILER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]):[ \t]*(\S.*)$")
_STAT_LINE = re.compile(r"^ (\S.*?)\s+\|\s+(?:(\d+)(?: [+-]*)?|(Bin)(?: .*)?)$")
_STAT_SUMMARY = re.compile(
    r"^ (\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?\s*$"
)
_STAT_MODE = re.compile(r"^ (create|delete) mode \d+ |^ rename |^ copy |^ mode change ")
_BASE_COMMIT = re.compile(r"^base-commit: ([0-9a-f]{7,64})\s*$", re.MULTILINE)
_PREREQUISITE = re.compile(r"^prerequisite-patch-id: ([0-9a-f]{7,64})\s*$", re.MULTILINE)
_ADDRESS = re.compile(r"^(.*?)\s*<([^<>\s]+@[^<>\s]+)>")
_KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "do", "case"}
_SIGNATURE = re.compile(r"\n-- \n[^\n]*\n?\s*\Z")

# Trailer names kernel maintainers use; any `Token: value` line in the trailer block is kept.
KNOWN_TRAILERS = (
    "Signed-off-by",
    "Reviewed-by",
    "Acked-by",
    "Tested-by",
    "Reported-by",
    "Suggested-by",
    "Co-developed-by",
    "Fixes",
    "Link",
    "Closes",
    "Cc",
)


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    def __str__(self) -> str:
        return format_address(self.name, self.email)


@dataclass(frozen=True)
class Trailer:
    """`Name: value` from the commit message's trailer block; `line` counts from 1 in the body."""

    name: str
    value: str
    line: int

    @property
    def person(self) -> Person | None:
        match = _ADDRESS.match(self.value)
        if not match:
            return None
        return Person(match.group(1).strip().strip('"'), match.group(2))


@dataclass(frozen=True)
class AddedLine:
    """A `+` line of a hunk and its line number in the patched file."""

    line: int
    text: str


@dataclass(frozen=True)
class Hunk:
    source_start: int
    source_length: int
    target_start: int
    target_length: int
    function: str
    added: tuple[AddedLine, ...]
    trailing_context: int


@dataclass(frozen=True)
class FileChange:
    """One file of a diff. `path` is the file after the patch (before, for a deletion)."""

    path: str
    old_path: str
    status: str  # modified | added | deleted | renamed | copied
    added: int
    removed: int
    binary: bool
    old_mode: str = ""
    new_mode: str = ""
    hunks: tuple[Hunk, ...] = field(default=())


@dataclass(frozen=True)
class DiffstatEntry:
    path: str
    changes: int | None  # None for binary files ("Bin")
    line: int


@dataclass(frozen=True)
class Diffstat:
    entries: tuple[DiffstatEntry, ...]
    files_changed: int
    insertions: int
    deletions: int
    line: int


@dataclass(frozen=True)
class Patch:
    """A series member (a patch, or the cover letter when number is 0)."""

    mail: Mail
    subject: Subject
    author: Person
    commit_message: str
    trailers: tuple[Trailer, ...]
    notes: str
    diffstat: Diffstat | None
    files: tuple[FileChange, ...]
    base_commit: str
    prerequisite_patch_ids: tuple[str, ...]
    diff_text: str = ""

    @property
    def number(self) -> int:
        return self.subject.counter

    @property
    def message_id(self) -> str:
        return self.mail.message_id

    @property
    def has_diff(self) -> bool:
        return bool(self.files)

    @property
    def insertions(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.removed for f in self.files)

    def trailers_named(self, name: str) -> tuple[Trailer, ...]:
        return tuple(t for t in self.trailers if t.name.lower() == name.lower())


def parse_patch(mail: Mail) -> Patch:
    """Split a decoded message into commit message, trailers, notes, diffstat and diff."""
    body = mail.body
    author = Person(mail.from_name, mail.from_email)
    subject_line = mail.subject
    body, in_body = _in_body_headers(body)
    if "From" in in_body:
        author = _person(in_body["From"]) or author
    if "Subject" in in_body:
        subject_line = in_body["Subject"]
    diff_match = _DIFF_START.search(body)
    message_part = body[: diff_match.start()] if diff_match else body
    diff_text = body[diff_match.start() :] if diff_match else ""
    separator = _SEPARATOR.search(message_part)
    commit_message = message_part[: separator.start()] if separator else message_part
    below = message_part[separator.end() :] if separator else ""
    offset = message_part.count("\n", 0, separator.end()) if separator else 0
    # A cover letter carries its diffstat without a `---` line above it.
    diffstat, notes = _diffstat_and_notes(below if separator else message_part, offset)
    return Patch(
        mail=mail,
        subject=parse_subject(subject_line),
        author=author,
        commit_message=commit_message.strip("\n"),
        trailers=_trailers(commit_message),
        notes=notes.strip("\n"),
        diffstat=diffstat,
        files=_parse_diff(diff_text, mail),
        base_commit=_first(_BASE_COMMIT.findall(body)),
        prerequisite_patch_ids=tuple(_PREREQUISITE.findall(body)),
        diff_text=_SIGNATURE.sub("\n", diff_text),
    )


def function_name(context: str) -> str:
    """The function a hunk's `@@ ... @@ context` line names, or ''."""
    for match in re.finditer(r"([A-Za-z_]\w*)\s*\(", context):
        if match.group(1) not in _KEYWORDS:
            return match.group(1)
    return ""


def _first(values: list[str]) -> str:
    return values[0] if values else ""


def _person(value: str) -> Person | None:
    import email.utils

    name, address = email.utils.parseaddr(value)
    return Person(name, address) if address else None


def _in_body_headers(body: str) -> tuple[str, dict[str, str]]:
    """Strip `From:`/`Subject:`/`Date:` lines at the top of the body (git mailinfo honours them)."""
    lines = body.lstrip("\n").split("\n")
    found: dict[str, str] = {}
    index = 0
    while index < len(lines) and (match := _IN_BODY_HEADER.match(lines[index])):
        found[match.group(1)] = match.group(2).strip()
        index += 1
    if not found or index >= len(lines) or lines[index].strip():
        return body, {}
    return "\n".join(lines[index + 1 :]), found


def _trailers(commit_message: str) -> tuple[Trailer, ...]:
    """The `Token: value` lines of the last paragraph, when it is a trailer block."""
    lines = commit_message.rstrip("\n").split("\n")
    end = len(lines)
    start = end
    while start > 0 and lines[start - 1].strip():
        start -= 1
    block = lines[start:end]
    trailers = [
        Trailer(m.group(1), m.group(2).strip(), start + i + 1)
        for i, text in enumerate(block)
        if (m := _TRAILER.match(text))
    ]
    known = {name.lower() for name in KNOWN_TRAILERS}
    if not any(t.name.lower() in known for t in trailers):
        return ()
    return tuple(trailers)


def _diffstat_and_notes(text: str, offset: int) -> tuple[Diffstat | None, str]:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        summary = _STAT_SUMMARY.match(line)
        if not summary:
            continue
        first = index
        while first > 0 and _STAT_LINE.match(lines[first - 1]):
            first -= 1
        last = index + 1
        while last < len(lines) and _STAT_MODE.match(lines[last]):
            last += 1
        entries = tuple(_stat_entry(lines[i], offset + i + 1) for i in range(first, index))
        diffstat = Diffstat(
            entries=entries,
            files_changed=int(summary.group(1)),
            insertions=int(summary.group(2) or 0),
            deletions=int(summary.group(3) or 0),
            line=offset + index + 1,
        )
        return diffstat, "\n".join(lines[:first] + lines[last:])
    return None, text


def _stat_entry(line: str, number: int) -> DiffstatEntry:
    match = _STAT_LINE.match(line)
    assert match is not None  # the caller matched it
    changes = None if match.group(3) else int(match.group(2))
    return DiffstatEntry(path=stat_path(match.group(1).strip()), changes=changes, line=number)


def stat_path(text: str) -> str:
    """The post-image path of a diffstat name: `mm/{a.c => b.c}` and `a => b` give the new name."""
    if " => " not in text:
        return text
    if "{" in text and "}" in text:
        head, rest = text.split("{", 1)
        inner, tail = rest.split("}", 1)
        new = inner.split(" => ", 1)[1]
        return re.sub(r"/+", "/", f"{head}{new}{tail}")
    return text.split(" => ", 1)[1]


def _parse_diff(diff_text: str, mail: Mail) -> tuple[FileChange, ...]:
    if not diff_text.strip():
        return ()
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

    diff_text = _SIGNATURE.sub("\n", diff_text)
    try:
        patch_set = PatchSet(diff_text)
    except UnidiffParseError as error:
        raise MessageError(mail.where, f"corrupt diff: {_explain(str(error))}") from error
    return tuple(_file_change(patched) for patched in patch_set)


def _explain(unidiff_message: str) -> str:
    if unidiff_message.startswith("Hunk is shorter"):
        return "a hunk is shorter than its @@ header says (truncated or mangled)"
    if unidiff_message.startswith("Hunk diff line expected"):
        detail = unidiff_message.split(":", 1)[1].strip()
        return f"a hunk is longer than its @@ header says, at {detail!r}"
    return unidiff_message.strip()


def _strip_prefix(path: str) -> str:
    if path == "/dev/null":
        return path
    return path[2:] if path[:2] in ("a/", "b/") else path


def _file_change(patched: PatchedFile) -> FileChange:
    source = _strip_prefix(patched.source_file or "")
    target = _strip_prefix(patched.target_file or "")
    info = "".join(str(line) for line in patched.patch_info or ())
    status = _status(patched, info)
    path = source if status == "deleted" else target
    if status == "added" or source == "/dev/null":
        source = path
    return FileChange(
        path=path,
        old_path=source,
        status=status,
        added=patched.added,
        removed=patched.removed,
        binary=bool(patched.is_binary_file),
        old_mode=_mode(info, "old mode") or _mode(info, "deleted file mode"),
        new_mode=_mode(info, "new mode") or _mode(info, "new file mode"),
        hunks=tuple(_hunk(hunk) for hunk in patched),
    )


def _status(patched: object, info: str) -> str:
    if getattr(patched, "is_added_file", False):
        return "added"
    if getattr(patched, "is_removed_file", False):
        return "deleted"
    if re.search(r"^copy from ", info, re.MULTILINE):
        return "copied"
    if getattr(patched, "is_rename", False):
        return "renamed"
    return "modified"


def _mode(info: str, label: str) -> str:
    match = re.search(rf"^{label} (\d+)", info, re.MULTILINE)
    return match.group(1) if match else ""


def _hunk(hunk: UnidiffHunk) -> Hunk:
    added = tuple(
        AddedLine(line.target_line_no or 0, line.value.rstrip("\n"))
        for line in hunk
        if line.is_added
    )
    trailing = 0
    for line in reversed(list(hunk)):
        if not line.is_context:
            break
        trailing += 1
    return Hunk(
        source_start=hunk.source_start,
        source_length=hunk.source_length,
        target_start=hunk.target_start,
        target_length=hunk.target_length,
        function=hunk.section_header.strip(),
        added=added,
        trailing_context=trailing,
    )


def unsafe_path(path: str) -> str:
    """Why a path a diff names must not be written (empty when it is fine): an absolute path,
    a `..` component, or a path into a `.git` directory would reach outside the tree or into
    the repository's own configuration."""
    if path == "/dev/null":
        return ""
    if path.startswith("/"):
        return "an absolute path"
    parts = path.replace("\\", "/").split("/")
    if ".." in parts:
        return "a path that climbs out of the tree (..)"
    if any(part.lower() in (".git", ".git.") for part in parts):
        return "a path into a .git directory"
    return ""
