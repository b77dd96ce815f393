"""Kernel C for tree-sitter: same-length rewriting of macros it cannot parse, parsing with a
per-function fallback, and the textual scan that measures what the parse covered.

Every rewrite keeps byte offsets, so lines and columns in findings are the file's own.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reviewtool.queries import QUERY_DIR, parser

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    import tree_sitter

_KEYWORDS = {
    "if", "for", "while", "switch", "return", "sizeof", "do", "case", "else", "goto",
    "typeof", "__typeof__", "_Alignof", "defined", "__builtin_expect",
}  # fmt: skip


@dataclass(frozen=True)
class MacroTable:
    erase: re.Pattern[bytes]
    erase_with_arguments: re.Pattern[bytes]
    iterator: re.Pattern[str]
    iterator_call: re.Pattern[bytes]


@functools.cache
def macro_table(path: Path = QUERY_DIR / "kernel-macros.toml") -> MacroTable:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    words = "|".join(re.escape(w) for w in data["erase"])
    with_arguments = "|".join(re.escape(w) for w in data["erase_with_arguments"])
    return MacroTable(
        erase=re.compile(rf"\b(?:{words})\b".encode()),
        erase_with_arguments=re.compile(rf"\b(?:{with_arguments})\s*\(".encode()),
        iterator=re.compile(data["iterator_pattern"]),
        # A quick pre-filter: identifiers that could be iterators, followed by `(`.
        iterator_call=re.compile(rb"\b(\w*(?:for_?each|foreach)\w*)(\s*)\("),
    )


_NOT_NEWLINE = re.compile(rb"[^\n\r]")
_COMMENT_OR_STRING = re.compile(
    rb'/\*.*?(?:\*/|\Z)|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.DOTALL
)


def _spaces(text: bytes) -> bytes:
    return _NOT_NEWLINE.sub(b" ", text)


def _blank(data: bytearray, start: int, end: int) -> None:
    data[start:end] = _spaces(bytes(data[start:end]))


def mask_comments_and_strings(source: bytes) -> bytes:
    """Comments, string and character literals replaced by spaces (newlines kept)."""
    return _COMMENT_OR_STRING.sub(lambda match: _spaces(match.group()), source)


def _closing_paren(data: bytes, open_index: int) -> int:
    """Index just past the `)` matching the `(` at open_index, or -1."""
    depth = 0
    for index in range(open_index, min(len(data), open_index + 20000)):
        char = data[index]
        if char == 0x28:
            depth += 1
        elif char == 0x29:
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def normalize(source: bytes, masked: bytes | None = None) -> bytes:
    """Rewrite what tree-sitter-c cannot parse, keeping every byte offset."""
    table = macro_table()
    masked = mask_comments_and_strings(source) if masked is None else masked
    data = bytearray(source)
    for match in table.erase.finditer(masked):
        _blank(data, match.start(), match.end())
    for match in table.erase_with_arguments.finditer(masked):
        end = _closing_paren(masked, match.end() - 1)
        if end > 0:
            _blank(data, match.start(), end)
    for match in table.iterator_call.finditer(masked):
        name = match.group(1).decode()
        if not table.iterator.match(name) or _is_directive_line(masked, match.start()):
            continue
        end = _closing_paren(masked, match.end() - 1)
        if end < 0 or _followed_by_semicolon(masked, end):
            continue
        start = match.start()
        width = match.end(1) - start
        data[start : start + width] = b"while".ljust(width)
    return bytes(data)


def _is_directive_line(masked: bytes, offset: int) -> bool:
    line_start = masked.rfind(b"\n", 0, offset) + 1
    return masked[line_start:offset].lstrip().startswith(b"#")


def _followed_by_semicolon(masked: bytes, end: int) -> bool:
    rest = masked[end : end + 200].lstrip()
    return rest.startswith(b";")


@dataclass(frozen=True)
class TextualCall:
    """A call of a watched name found by a plain text scan (outside comments and strings)."""

    name: str
    line: int
    column: int
    in_macro: bool


def textual_calls(
    source: bytes, names: Iterable[str], *, masked: bytes | None = None
) -> list[TextualCall]:
    """Every `name(` outside comments and strings that is not a definition or declaration."""
    wanted = set(names)
    if not wanted:
        return []
    masked = mask_comments_and_strings(source) if masked is None else masked
    pattern = re.compile(
        rb"\b(" + b"|".join(re.escape(n.encode()) for n in sorted(wanted)) + rb")\s*\("
    )
    calls: list[TextualCall] = []
    macro_lines: set[int] | None = None
    line, counted = 1, 0
    for match in pattern.finditer(masked):
        if _is_definition(masked, match.start(), match.group(1)):
            continue
        line += masked.count(b"\n", counted, match.start())
        counted = match.start()
        column = match.start() - (masked.rfind(b"\n", 0, match.start()) + 1) + 1
        if macro_lines is None:
            macro_lines = _macro_lines(masked) if b"#" in masked else set()
        calls.append(TextualCall(match.group(1).decode(), line, column, line in macro_lines))
    return calls


def _is_definition(masked: bytes, offset: int, name: bytes) -> bool:
    """A function definition/declaration (`int name(`) or a `#define name(`."""
    line_start = masked.rfind(b"\n", 0, offset) + 1
    before = masked[max(0, offset - 200) : offset]
    if re.search(rb"#\s*define\s+$", masked[line_start:offset]):
        return True
    previous = re.search(rb"([A-Za-z_]\w*|\*|\))\s*$", before)
    if previous is None:
        return False
    token = previous.group(1).decode()
    return token == "*" or (token != ")" and token not in _KEYWORDS)


def _macro_lines(masked: bytes) -> set[int]:
    """Line numbers inside #define bodies (with their backslash continuations)."""
    lines = masked.split(b"\n")
    inside: set[int] = set()
    continuing = False
    for number, text in enumerate(lines, start=1):
        if continuing or (text.lstrip().startswith(b"#") and re.match(rb"\s*#\s*define\b", text)):
            inside.add(number)
            continuing = text.rstrip().endswith(b"\\")
        else:
            continuing = False
    return inside


@dataclass(frozen=True)
class Function:
    """A function definition: its name, node, and whether its linkage is file-local."""

    name: str
    node: tree_sitter.Node
    static: bool
    start_line: int
    end_line: int
    reparsed: bool = False


@dataclass
class ParsedFile:
    """A parsed file; derived facts are computed once per content and memoized here."""

    path: str
    source: bytes
    masked: bytes
    tree: tree_sitter.Tree
    functions: list[Function]
    error_count: int
    memo: dict[object, object] = field(default_factory=dict)

    def calls(self, names: frozenset[str]) -> list[TextualCall]:
        key = ("calls", names)
        if key not in self.memo:
            self.memo[key] = textual_calls(self.source, names, masked=self.masked)
        result = self.memo[key]
        assert isinstance(result, list)
        return result


def parse_file(path: str, source: bytes) -> ParsedFile:
    masked = mask_comments_and_strings(source)
    tree = parser().parse(normalize(source, masked))
    functions = list(_functions(tree.root_node))
    errors = sum(1 for _ in _error_nodes(tree.root_node))
    return ParsedFile(path, source, masked, tree, functions, errors)


def _error_nodes(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    if node.type == "ERROR":
        yield node
        return
    if node.has_error:
        for child in node.children:
            yield from _error_nodes(child)


def _functions(root: tree_sitter.Node) -> Iterator[Function]:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            name = function_name(node)
            if name:
                yield Function(
                    name, node, _is_static(node), node.start_point[0] + 1, node.end_point[0] + 1
                )
            continue
        stack.extend(reversed(node.children))


def function_name(node: tree_sitter.Node) -> str:
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    if declarator is None:
        return ""
    inner = declarator.child_by_field_name("declarator")
    while inner is not None and inner.type not in ("identifier", "field_identifier"):
        inner = inner.child_by_field_name("declarator")
    return inner.text.decode() if inner is not None and inner.text else ""


def _is_static(node: tree_sitter.Node) -> bool:
    for child in node.children:
        if child.type == "storage_class_specifier" and child.text in (b"static",):
            return True
        if child.type == "function_declarator":
            break
    return False


def enclosing_function_text(source: bytes, line: int) -> tuple[int, int] | None:
    """Byte range of the function around `line`, found by braces when the parse lost it.

    Kernel style puts a function's opening `{` alone in column 0 and its closing `}` in
    column 0; the header is the lines above the `{` back to a blank line or a `}`/`;` line.
    """
    lines = source.split(b"\n")
    open_line = None
    for index in range(min(line, len(lines)) - 1, -1, -1):
        if lines[index].startswith(b"{"):
            open_line = index
            break
        if lines[index].startswith(b"}") and index != line - 1:
            return None
    if open_line is None:
        return None
    close_line = next(
        (i for i in range(open_line + 1, len(lines)) if lines[i].startswith(b"}")), None
    )
    if close_line is None or close_line < line - 1:
        return None
    header = open_line
    while (
        header > 0
        and lines[header - 1].strip()
        and not lines[header - 1].rstrip().endswith((b";", b"}", b"*/"))
        and not lines[header - 1].startswith(b"#")
    ):
        header -= 1
    start = sum(len(text) + 1 for text in lines[:header])
    end = sum(len(text) + 1 for text in lines[: close_line + 1])
    return start, end


def reparse_function(source: bytes, start: int, end: int) -> Function | None:
    """Parse one function alone (padded so that positions match the file)."""
    normalized = normalize(source)
    padded = bytes(b if b == 0x0A else 0x20 for b in normalized[:start]) + normalized[start:end]
    tree = parser().parse(padded)
    for function in _functions(tree.root_node):
        if function.start_line >= source.count(b"\n", 0, start) + 1:
            return Function(
                function.name,
                function.node,
                function.static,
                function.start_line,
                function.end_line,
                reparsed=True,
            )
    return None
