"""Kernel C for tree-sitter: same-length rewriting of macros it cannot parse, parsing with a
per-function fallback, and the textual scan that measures what the parse covered.

Every rewrite keeps byte offsets, so lines and columns in findings are the file's own.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reviewtool.analysis.grammar import QUERY_DIR, parser
from reviewtool.analysis.typeinfo import CType, struct_fields

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
    words = _trie(data["erase"])
    with_arguments = _trie(data["erase_with_arguments"])
    return MacroTable(
        erase=re.compile(rf"\b(?:{words})\b".encode()),
        erase_with_arguments=re.compile(rf"\b(?:{with_arguments})\s*\(".encode()),
        iterator=re.compile(data["iterator_pattern"]),
        # A quick pre-filter: identifiers that could be iterators, followed by `(`.
        iterator_call=re.compile(rb"\b(\w*(?:for_?each|foreach)\w*)(\s*)\("),
    )


class _Node(dict[str, "_Node"]):
    """A node of a prefix tree of words; the key "" marks the end of a word."""


def _trie(words: Iterable[str]) -> str:
    """An alternation of words as a prefix tree (`__(?:init|exit)`): Python's re tries the
    branches of a flat alternation one by one at every position."""
    tree = _Node()
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, _Node())
        node[""] = _Node()
    return _trie_pattern(tree)


def _trie_pattern(node: _Node) -> str:
    branches = [re.escape(c) + _trie_pattern(child) for c, child in sorted(node.items()) if c]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


_COMMENT_OR_STRING = re.compile(
    rb'/\*.*?(?:\*/|\Z)|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.DOTALL
)


_TO_SPACE = bytes(b if b in (0x0A, 0x0D) else 0x20 for b in range(256))


def _spaces(text: bytes) -> bytes:
    return text.translate(_TO_SPACE)


def _blank(data: bytearray, start: int, end: int) -> None:
    data[start:end] = _spaces(bytes(data[start:end]))


def mask_comments_and_strings(source: bytes) -> bytes:
    """Comments, string and character literals replaced by spaces (newlines kept)."""
    return _COMMENT_OR_STRING.sub(lambda match: match.group().translate(_TO_SPACE), source)


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
    _unwrap_else_groups(masked, data)
    return bytes(data)


_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(\w+)")


def _unwrap_else_groups(masked: bytes, data: bytearray) -> None:
    """`}` then `#ifdef X` / `else if (...) {...}` / `#endif`: an `else` that opens inside a
    conditional group cannot be parsed on its own. Either branch of an `#if` may be compiled, so
    blanking the group's two directive lines (same length) loses nothing and keeps the chain."""
    stack: list[tuple[int, int, bool]] = []  # (start, end of the opening line, has #else)
    for match in _CONDITIONAL.finditer(masked):
        word = match.group(1)
        line_end = masked.find(b"\n", match.end())
        line_end = len(masked) if line_end < 0 else line_end
        if word in (b"if", b"ifdef", b"ifndef"):
            continued = masked[match.start() : line_end].rstrip().endswith(b"\\")
            stack.append((match.start(), line_end, continued))
        elif word != b"endif":
            if stack:
                stack[-1] = (stack[-1][0], stack[-1][1], True)
        elif stack:
            start, opening_end, skip = stack.pop()
            body = masked[opening_end : match.start()].lstrip()
            if skip or not re.match(rb"else\b", body):
                continue
            _blank(data, start, opening_end)
            _blank(data, match.start(), line_end)


_CONDITIONAL = re.compile(
    rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|else|elif|elifdef|elifndef|endif)\b", re.MULTILINE
)


def preprocessor_regions(masked: bytes) -> list[tuple[int, int, str]]:
    """(first line, last line, condition) of every branch of every conditional group, with the
    condition under which that branch is compiled (C preprocessor syntax, 1-based lines)."""
    regions: list[tuple[int, int, str]] = []
    # per open group: the first line of its current branch, that branch's condition, and the
    # conditions of the branches before it
    stack: list[tuple[int, str, list[str]]] = []
    for number, raw in enumerate(masked.split(b"\n"), start=1):
        match = _DIRECTIVE.match(raw)
        if match is None:
            continue
        word = match.group(1).decode()
        rest = raw[match.end() :].decode("utf-8", "replace").strip().rstrip("\\").strip()
        own = {
            "ifdef": f"defined({rest})",
            "ifndef": f"!defined({rest})",
            "elifdef": f"defined({rest})",
            "elifndef": f"!defined({rest})",
        }.get(word, f"({rest})")
        if word in ("if", "ifdef", "ifndef"):
            stack.append((number + 1, own, [own]))
        elif word in ("elif", "else", "elifdef", "elifndef") and stack:
            start, condition, earlier = stack.pop()
            regions.append((start, number - 1, condition))
            negated = " && ".join(f"!({c})" for c in earlier)
            if word == "else":
                stack.append((number + 1, negated, earlier))
            else:
                stack.append((number + 1, f"{negated} && {own}", [*earlier, own]))
        elif word == "endif" and stack:
            start, condition, _ = stack.pop()
            regions.append((start, number - 1, condition))
    return regions


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

    def conditions(self, line: int) -> list[str]:
        """The preprocessor conditions a line is compiled under, outermost first."""
        regions = self.memo.get("regions")
        if regions is None:
            regions = self.memo["regions"] = preprocessor_regions(self.masked)
        assert isinstance(regions, list)
        return [c for first, last, c in regions if first <= line <= last]

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


_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]', re.MULTILINE)
HeaderReader = Callable[[str], "tuple[str, bytes] | None"]


class StructTable:
    """Struct members by name, found where the compiler finds them: in the file that uses the
    struct, then breadth first through the headers it includes (`<linux/mm.h>` is
    `include/linux/mm.h`, `<asm/...>` the architecture's or asm-generic's, `"x.h"` beside the
    file). Files are read through `read` and parsed only when they define the struct."""

    def __init__(
        self,
        read: HeaderReader,
        parse: Callable[[str, str, bytes], ParsedFile],
        headers: dict[str, tuple[frozenset[str], tuple[tuple[str, str], ...]]] | None = None,
        limit: int = 400,
        known: dict[str, tuple[dict[str, CType], tuple[tuple[str, str], ...]]] | None = None,
    ) -> None:
        self.read = read
        self.parse = parse
        self.headers = headers if headers is not None else {}  # blob -> (structs, includes)
        self.limit = limit
        self.found: dict[str, dict[str, CType] | None] = {}
        # name -> (members, the (path, blob) chain that led to them): reused from an earlier
        # tree state while every file of that chain is unchanged
        self.known = known if known is not None else {}
        self.resolved: dict[tuple[str, str, str, str], str | None] = {}
        self.definers: dict[str, str] = {}  # struct name -> a header seen to define it

    def lookup(self, name: str, path: str) -> dict[str, CType] | None:
        if name in self.found:
            return self.found[name]
        known = self.known.get(name)
        if known is not None and all(
            (found := self.read(p)) is not None and found[0] == blob for p, blob in known[1]
        ):
            self.found[name] = known[0]
            return known[0]
        definer = self.definers.get(name)
        if definer is not None and (found := self.read(definer)) is not None:
            # a header an earlier search passed through defines it: the one cpp finds
            fields = _definition_fields(found[1], name)
            if fields is not None:
                self.known[name] = (fields, ((definer, found[0]),))
                self.found[name] = fields
                return fields
        result = self._search(name, path)
        self.found[name] = result
        return result

    def _search(self, name: str, start: str) -> dict[str, CType] | None:
        arch = start.split("/")[1] if start.startswith("arch/") and start.count("/") > 1 else "x86"
        queue, seen = [start], {start}
        parents: dict[str, str] = {}
        while queue and len(seen) <= self.limit:
            path = queue.pop(0)
            found = self.read(path)
            if found is None:
                continue
            blob, content = found
            defines, includes = self._header(blob, content)
            for defined in defines:
                self.definers.setdefault(defined, path)
            if name in defines:
                fields = _definition_fields(content, name)
                if fields is not None:
                    chain = [path]
                    while chain[-1] in parents:
                        chain.append(parents[chain[-1]])
                    self.known[name] = (
                        fields,
                        tuple((p, b[0]) for p in chain if (b := self.read(p)) is not None),
                    )
                    return fields
            for quote, target in includes:
                included = self._resolve(path, quote, target, arch)
                if included is not None and included not in seen:
                    seen.add(included)
                    parents[included] = path
                    queue.append(included)
        return None

    def _resolve(self, path: str, quote: str, target: str, arch: str) -> str | None:
        """The first directory of the search path that has the header, as cpp does."""
        directory = path.rsplit("/", 1)[0] if quote == '"' and "/" in path else ""
        key = (directory if quote == '"' else "", quote, target, arch)
        if key not in self.resolved:
            self.resolved[key] = next(
                (
                    c
                    for c in _include_candidates(path, quote, target, arch)
                    if self.read(c) is not None
                ),
                None,
            )
        return self.resolved[key]

    def _header(
        self, blob: str, content: bytes
    ) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
        cached = self.headers.get(blob)
        if cached is None:
            # Unmasked: a definition inside a comment only costs a parse that finds nothing.
            defines = frozenset(m.group(1).decode() for m in _DEFINES.finditer(content))
            includes = tuple(
                (m.group(1).decode(), m.group(2).decode().strip())
                for m in _INCLUDE.finditer(content)
            )
            cached = self.headers[blob] = (defines, includes)
        return cached


def _definition_fields(content: bytes, name: str) -> dict[str, CType] | None:
    """The members of `struct name { ... }` in a file, parsing only the definition's text
    (a header such as include/linux/mm_types.h is large; its struct is not)."""
    pattern = re.compile(rb"\b(?:struct|union)\s+" + re.escape(name.encode()) + rb"\s*\{")
    for match in pattern.finditer(content):
        window = mask_comments_and_strings(content[match.start() : match.start() + 65536])
        depth, end = 0, -1
        for index in range(match.end() - match.start() - 1, len(window)):
            char = window[index]
            if char == 0x7B:
                depth += 1
            elif char == 0x7D:
                depth -= 1
                if depth == 0:
                    end = index + 1
                    break
        if end < 0:
            continue
        text = content[match.start() : match.start() + end] + b";"
        tree = parser().parse(normalize(text))
        fields = struct_fields(tree.root_node, name)
        if fields is not None:
            return fields
    return None


_DEFINES = re.compile(rb"\b(?:struct|union)\s+(\w+)\s*\{")


def _include_candidates(path: str, quote: str, target: str, arch: str) -> list[str]:
    candidates = []
    if quote == '"':
        directory = path.rsplit("/", 1)[0] if "/" in path else ""
        candidates.append(f"{directory}/{target}" if directory else target)
    candidates += [
        f"include/{target}",
        f"arch/{arch}/include/{target}",
        f"include/uapi/{target}",
        f"arch/{arch}/include/uapi/{target}",
    ]
    if target.startswith("asm/"):
        candidates.append(f"include/asm-generic/{target[4:]}")
    return [_normal(c) for c in candidates]


def _normal(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)
