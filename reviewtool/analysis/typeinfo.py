"""C types, as much of them as the case analysis needs: which expressions read a value of the
tracked type (a pte loaded from a page table) and which only hold something else.

Types come from declarations the parse shows: a function's parameters and locals, and the
members of the structs they point to (found in the files already parsed, else looked up in the
tree by the caller of `StructTable`). A type is kept as its base name and a pointer depth:
`pte_t *ptep` is (`pte_t`, 1), `struct vm_fault *vmf` is (`struct vm_fault`, 1), an array
member `swp_entry_t *slots` or `swp_entry_t slots[4]` is (`swp_entry_t`, 1).

Keys (the analysis' names for lvalues: `pte`, `*ptep`, `vmf->orig_pte`, `cache->slots[i]`,
`*@pte(pmd,addr)`) are parsed back into a root and steps here, so a key's type can be told
without its syntax node.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewtool.analysis.csource import closing

if TYPE_CHECKING:
    import tree_sitter


@dataclass(frozen=True)
class CType:
    """A C type as base name and pointer depth (arrays count as one level)."""

    base: str
    depth: int = 0

    def deref(self) -> CType | None:
        return CType(self.base, self.depth - 1) if self.depth > 0 else None

    def address(self) -> CType:
        return CType(self.base, self.depth + 1)

    @property
    def struct(self) -> str | None:
        """The struct or union name when this is one (any depth)."""
        match = re.fullmatch(r"(?:struct|union)\s+(\w+)", self.base)
        return match.group(1) if match else None


def _base_type(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    if node.type in ("struct_specifier", "union_specifier"):
        name = node.child_by_field_name("name")
        keyword = "struct" if node.type == "struct_specifier" else "union"
        return f"{keyword} {name.text.decode()}" if name is not None and name.text else keyword
    return " ".join(node.text.decode("utf-8", "replace").split())


def _declarator_name(node: tree_sitter.Node | None) -> tuple[str, int] | None:
    """The declared name and the pointer/array depth its declarator adds."""
    depth = 0
    while node is not None:
        kind = node.type
        if kind in ("identifier", "field_identifier"):
            return (node.text.decode(), depth) if node.text else None
        if kind in ("pointer_declarator", "array_declarator"):
            depth += 1
            node = node.child_by_field_name("declarator")
        elif kind in ("init_declarator", "parenthesized_declarator", "attributed_declarator"):
            inner = node.child_by_field_name("declarator")
            if inner is None:
                inner = next((c for c in node.named_children if c.type != "comment"), None)
            node = inner
        else:
            # a function declarator (a function pointer): not a value the analysis reads
            return None
    return None


def declared(node: tree_sitter.Node) -> Iterator[tuple[str, CType]]:
    """Names and types a parameter, declaration or field declaration introduces."""
    base = _base_type(node.child_by_field_name("type"))
    for child in node.children_by_field_name("declarator"):
        found = _declarator_name(child)
        if found is not None:
            yield found[0], CType(base, found[1])


class Scope:
    """The declared types of one function: parameters and every local (scopes flattened)."""

    def __init__(self, function: tree_sitter.Node | None) -> None:
        self.parameters: list[str] = []
        self.types: dict[str, CType] = {}
        if function is None:
            return
        for parameter in _parameter_nodes(function):
            found = list(declared(parameter))
            if not found:
                self.parameters.append("")  # unnamed: keeps the indexes of the others
            for name, ctype in found:
                self.parameters.append(name)
                self.types[name] = ctype
        body = function.child_by_field_name("body")
        if body is None:
            return
        for node in _declarations().captures(body).get("declaration", []):
            for name, ctype in declared(node):
                self.types.setdefault(name, ctype)


@functools.cache
def _declarations() -> tree_sitter.QueryCursor:
    """Every declaration in a body: queries/declarations.scm."""
    import tree_sitter

    from reviewtool.analysis.grammar import load_query

    return tree_sitter.QueryCursor(load_query("declarations"))


def _parameter_nodes(function: tree_sitter.Node) -> list[tree_sitter.Node]:
    declarator = function.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    if declarator is None:
        return []
    parameters = declarator.child_by_field_name("parameters")
    if parameters is None:
        return []
    return [p for p in parameters.named_children if p.type == "parameter_declaration"]


def struct_fields(root: tree_sitter.Node, name: str) -> dict[str, CType] | None:
    """The members of `struct name { ... }` (or union) defined in a parsed file, anonymous
    inner structs and unions flattened as C does."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ("struct_specifier", "union_specifier"):
            named = node.child_by_field_name("name")
            body = node.child_by_field_name("body")
            if body is not None and named is not None and named.text == name.encode():
                return dict(_members(body))
        if node.type in ("function_definition", "compound_statement"):
            continue
        stack.extend(node.named_children)
    return None


def _members(body: tree_sitter.Node) -> Iterator[tuple[str, CType]]:
    for field in body.named_children:
        if field.type != "field_declaration":
            if field.type.startswith("preproc_"):
                yield from _members(field)
            continue
        declarators = field.children_by_field_name("declarator")
        kind = field.child_by_field_name("type")
        if (
            not declarators
            and kind is not None
            and kind.type
            in (
                "struct_specifier",
                "union_specifier",
            )
        ):
            inner = kind.child_by_field_name("body")
            if inner is not None:
                yield from _members(inner)
            continue
        yield from declared(field)


StructLookup = Callable[[str], "dict[str, CType] | None"]


@dataclass(frozen=True)
class Step:
    kind: str  # "." | "->" | "[]"
    name: str = ""


@dataclass(frozen=True)
class ParsedKey:
    """A key as prefix operators, a root (an identifier or a slot `@kind(a,b)`) and steps."""

    prefix: str  # the leading `*` and `&` operators, outermost first
    root: str
    steps: tuple[Step, ...]

    @property
    def slot(self) -> tuple[str, tuple[str, ...]] | None:
        match = re.fullmatch(r"@(\w+)\((.*)\)", self.root)
        if match is None:
            return None
        return match.group(1), tuple(split_top(match.group(2)))

    def root_names(self) -> list[str]:
        """The variables the key starts from: its identifier, or those of a slot's arguments."""
        slot = self.slot
        if slot is None:
            return [self.root]
        names: list[str] = []
        for argument in slot[1]:
            parsed = parse_key(argument)
            if parsed is not None:
                names += parsed.root_names()
        return names


def split_top(text: str) -> list[str]:
    """Split on commas outside brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [p for p in parts if p]


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def parse_key(key: str) -> ParsedKey | None:
    index = 0
    while index < len(key) and key[index] in "*&":
        index += 1
    prefix = key[:index]
    if key.startswith("@", index):
        end = closing(key, index, "()")
        end = len(key) if end < 0 else end
        root = key[index:end]
        index = end
    else:
        match = _IDENTIFIER.match(key, index)
        if match is None:
            return None
        root = match.group(0)
        index = match.end()
    steps: list[Step] = []
    while index < len(key):
        if key.startswith("->", index):
            match = _IDENTIFIER.match(key, index + 2)
            if match is None:
                return None
            steps.append(Step("->", match.group(0)))
            index = match.end()
        elif key[index] == ".":
            match = _IDENTIFIER.match(key, index + 1)
            if match is None:
                return None
            steps.append(Step(".", match.group(0)))
            index = match.end()
        elif key[index] == "[":
            end = closing(key, index, "[]")
            end = len(key) if end < 0 else end
            steps.append(Step("[]", key[index + 1 : end - 1]))
            index = end
        else:
            return None
    return ParsedKey(prefix, root, tuple(steps))


class Typer:
    """Types of keys in one function, given its scope, the slot table and struct members."""

    def __init__(
        self,
        scope: Scope,
        structs: StructLookup,
        slot_type: Callable[[str], CType | None],
    ) -> None:
        self.scope = scope
        self.structs = structs
        self.slot_type = slot_type

    def key_type(self, key: str) -> CType | None:
        parsed = parse_key(key)
        if parsed is None:
            return None
        slot = parsed.slot
        ctype = self.slot_type(slot[0]) if slot else self.scope.types.get(parsed.root)
        for step in parsed.steps:
            if ctype is None:
                return None
            if step.kind == "[]":
                ctype = ctype.deref()
                continue
            if step.kind == "->":
                ctype = ctype.deref()
                if ctype is None:
                    return None
            ctype = self.field(ctype, step.name)
        for operator in reversed(parsed.prefix):
            if ctype is None:
                return None
            ctype = ctype.deref() if operator == "*" else ctype.address()
        return ctype

    def field(self, ctype: CType, name: str) -> CType | None:
        struct = ctype.struct
        if struct is None or ctype.depth != 0:
            return None
        members = self.structs(struct)
        return members.get(name) if members is not None else None
