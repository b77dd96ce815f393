"""Kernel C for tree-sitter: same-length rewriting of macros it cannot parse, parsing with a
per-function fallback, and the textual scan that measures what the parse covered.

Every rewrite keeps byte offsets, so lines and columns in findings are the file's own.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, AnyStr

from reviewtool.analysis.grammar import QUERY_DIR, parser

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


def closing(text: AnyStr, start: int, pair: AnyStr, limit: int | None = None) -> int:
    """Index just past the bracket that closes the first one opened at or after start (pair:
    the opening and closing bracket, "()" or b"{}"), looking at most `limit` characters; -1
    when it is not closed."""
    opener, closer = pair[0], pair[1]
    depth = 0
    end = len(text) if limit is None else min(len(text), start + limit)
    for index in range(start, end):
        char = text[index]
        if char == opener:
            depth += 1
        elif char == closer:
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
        end = closing(masked, match.end() - 1, b"()", 20000)
        if end > 0:
            _blank(data, match.start(), end)
    for match in table.iterator_call.finditer(masked):
        name = match.group(1).decode()
        if not table.iterator.match(name) or _is_directive_line(masked, match.start()):
            continue
        end = closing(masked, match.end() - 1, b"()", 20000)
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
    pattern = names_pattern(frozenset(wanted), rb"\s*\(")
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


@dataclass(frozen=True)
class FunctionCalls:
    """A function, a digest of its text (analyses are keyed by it, not by the function's place:
    a patch that only moves a function reuses its analysis, shifted) and the names it calls."""

    function: Function
    digest: str
    calls: frozenset[str]


@dataclass
class ParsedFile:
    """A parsed file. The facts derived from it are computed once per content and kept here,
    each in a cache of its own."""

    path: str
    source: bytes
    masked: bytes
    tree: tree_sitter.Tree
    functions: list[Function]  # as parsed; `every_function()` adds those re-parsed alone
    error_count: int
    _regions: list[tuple[int, int, str]] | None = field(default=None, repr=False)
    _calls: dict[frozenset[str], list[TextualCall]] = field(default_factory=dict, repr=False)
    _every: dict[frozenset[str], list[FunctionCalls]] = field(default_factory=dict, repr=False)
    _calling: dict[tuple[frozenset[str], frozenset[str]], list[FunctionCalls]] = field(
        default_factory=dict, repr=False
    )
    _mentions: dict[bytes, bool] = field(default_factory=dict, repr=False)
    _as_values: dict[frozenset[str], frozenset[str]] = field(default_factory=dict, repr=False)
    _returns: dict[int, bool] = field(default_factory=dict, repr=False)

    def conditions(self, line: int) -> list[str]:
        """The preprocessor conditions a line is compiled under, outermost first."""
        if self._regions is None:
            self._regions = preprocessor_regions(self.masked)
        return [c for first, last, c in self._regions if first <= line <= last]

    def calls(self, names: frozenset[str]) -> list[TextualCall]:
        """Every call of names outside comments and strings, by a text scan."""
        if names not in self._calls:
            self._calls[names] = textual_calls(self.source, names, masked=self.masked)
        return self._calls[names]

    def every_function(self, watched: frozenset[str]) -> list[FunctionCalls]:
        """The parsed functions, plus, for calls of watched names the parse lost, the
        functions around them re-parsed alone; each with what it calls."""
        if watched not in self._every:
            self._every[watched] = [
                FunctionCalls(
                    function,
                    hashlib.sha1(
                        self.source[function.node.start_byte : function.node.end_byte]
                    ).hexdigest(),
                    frozenset(
                        m.decode()
                        for m in CALLED.findall(
                            self.masked[function.node.start_byte : function.node.end_byte]
                        )
                    ),
                )
                for function in self._recover(watched)
            ]
        return self._every[watched]

    def calling(self, watched: frozenset[str], names: frozenset[str]) -> list[FunctionCalls]:
        """The functions that call any of names."""
        key = (watched, names)
        if key not in self._calling:
            self._calling[key] = [f for f in self.every_function(watched) if f.calls & names]
        return self._calling[key]

    def mentions(self, pattern: re.Pattern[bytes]) -> bool:
        """Whether the file's code (not its comments or strings) matches pattern."""
        if pattern.pattern not in self._mentions:
            self._mentions[pattern.pattern] = pattern.search(self.masked) is not None
        return self._mentions[pattern.pattern]

    def used_as_values(self, names: frozenset[str]) -> frozenset[str]:
        """Which of the function names are used other than called: their address is taken
        (a function-pointer table, EXPORT_SYMBOL)."""
        if names not in self._as_values:
            encoded = [n.encode() for n in names]
            found: frozenset[str] = frozenset()
            if any(n in self.masked for n in encoded):
                pattern = names_pattern(names, rb"\b(?!\s*\()")
                found = frozenset(m.group(1).decode() for m in pattern.finditer(self.masked))
            self._as_values[names] = found
        return self._as_values[names]

    def returns_values(self, function: tree_sitter.Node) -> bool:
        """A function with parameters that returns a value: its results may say something
        about what it was passed."""
        if function.start_byte not in self._returns:
            self._returns[function.start_byte] = _returns_values(function)
        return self._returns[function.start_byte]

    def _recover(self, watched: frozenset[str]) -> list[Function]:
        functions = list(self.functions)
        covered = [(f.node.start_byte, f.node.end_byte) for f in functions]
        lost = [
            call
            for call in self.calls(watched)
            if not call.in_macro and not _inside_parsed_function(self, call.line)
        ]
        for call in lost:
            span = enclosing_function_text(self.source, call.line)
            if span is None or any(s <= span[0] < e for s, e in covered if (s, e) != span):
                continue
            function = reparse_function(self.source, *span)
            if function is not None:
                functions = [
                    f
                    for f in functions
                    if not (f.node.start_byte >= span[0] and f.node.end_byte <= span[1])
                ]
                functions.append(function)
                covered.append(span)
        return functions


CALLED = re.compile(rb"\b([A-Za-z_]\w*)\s*\(")  # a name followed by `(`: a call


@functools.lru_cache(maxsize=256)
def names_pattern(
    names: frozenset[str], after: bytes = rb"\b", before: bytes = rb"\b"
) -> re.Pattern[bytes]:
    """`\b(name1|name2...)` between `before` and `after`: the one alternation of names every
    scan uses (longest first, so that no name stops at a shorter one's prefix)."""
    ordered = sorted(names, key=lambda n: (-len(n), n))
    alternation = b"|".join(re.escape(n.encode()) for n in ordered)
    return re.compile(before + rb"(" + alternation + rb")" + after)


def _returns_values(function: tree_sitter.Node) -> bool:
    kind = function.child_by_field_name("type")
    declarator = function.child_by_field_name("declarator")
    returns_void = (
        kind is not None
        and kind.text == b"void"
        and declarator is not None
        and declarator.type == "function_declarator"
    )
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    parameters = declarator.child_by_field_name("parameters") if declarator else None
    listed = b"".join((parameters.text or b"").split()) if parameters is not None else b"()"
    return not returns_void and listed not in (b"()", b"(void)")


def _inside_parsed_function(parsed_file: ParsedFile, line: int) -> bool:
    for function in parsed_file.functions:
        if function.start_line <= line <= function.end_line:
            return not _line_in_error(function.node, line)
    return False


def _line_in_error(node: tree_sitter.Node, line: int) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        first, last = current.start_point[0] + 1, current.end_point[0] + 1
        if current.type == "ERROR" and first <= line <= last:
            return True
        if current.has_error:
            stack.extend(current.children)
    return False


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
