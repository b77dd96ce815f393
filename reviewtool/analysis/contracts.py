"""Return contracts: the kinds of value a function can return, read from its body.

A function's return contract is the set of `ReturnKind`s its return statements can produce:
NULL, `ERR_PTR` with its errno (or any errno), a valid pointer, integer constants and errnos
(0 included), `true`/`false`, enum constants, and `unknown` where the body does not say. The
summary follows locals (every value an initializer or an assignment gives them, wherever it
is: `goto` exits included), `?:`, casts and parentheses, `ERR_CAST()`/`PTR_ERR()`, pointers
derived from a returned pointer (`&folio->page`), and calls whose result is returned, through
the callees' own summaries (a pass-through wrapper has its callee's contract).

Comparing the summary of a function before and after a patch tells what the patch changed in
its contract: a kind it can now return (NULL → `ERR_PTR`, a new errno, a new enum constant) or
a changed meaning (its return type changes, and with it what success is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewtool.analysis.csyntax import call_arguments, callee_name, node_text, unwrap

if TYPE_CHECKING:
    import tree_sitter

_ERRNO = re.compile(r"-\s*(E[A-Z0-9]+)")
_NUMBER = re.compile(r"-?\s*(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*")
_ENUM = re.compile(r"[A-Z][A-Z0-9_]*")
_ERRNO_ALIAS = {"EWOULDBLOCK": "EAGAIN", "EDEADLOCK": "EDEADLK"}
ANY_ERRNO = "-E*"


@dataclass(frozen=True, order=True)
class ReturnKind:
    """One kind of returned value.

    `kind` is `null`, `errptr` (value: the errno, `-E*` for any), `pointer` (a valid one),
    `int` (value: a constant or an errno such as `-ENOMEM`), `bool` (`true`/`false`), `enum`
    (value: the constant) or `unknown`.
    """

    kind: str
    value: str = ""

    def __str__(self) -> str:
        if self.kind == "errptr":
            return f"ERR_PTR({self.value})"
        return self.value or self.kind


NULL = ReturnKind("null")
POINTER = ReturnKind("pointer")
UNKNOWN = ReturnKind("unknown")
ANY_ERR_PTR = ReturnKind("errptr", ANY_ERRNO)

Summaries = Mapping[str, frozenset[ReturnKind]]


@dataclass(frozen=True)
class ReturnType:
    """What a function is declared to return: `pointer`, `bool`, `enum`, `int` (any integer
    type) or `void`, with the type's text."""

    kind: str
    text: str


def return_type(function: tree_sitter.Node) -> ReturnType:
    """The declared return type of a function definition."""
    kind = function.child_by_field_name("type")
    text = " ".join(node_text(kind).split())
    declarator = function.child_by_field_name("declarator")
    pointer = False
    while declarator is not None and declarator.type != "function_declarator":
        pointer = pointer or declarator.type == "pointer_declarator"
        declarator = declarator.child_by_field_name("declarator")
    if pointer:
        return ReturnType("pointer", f"{text} *")
    if kind is not None and kind.type == "enum_specifier":
        return ReturnType("enum", text)
    if text in ("bool", "_Bool"):
        return ReturnType("bool", text)
    if text == "void":
        return ReturnType("void", text)
    return ReturnType("int", text)


def _errno(text: str) -> str | None:
    match = _ERRNO.fullmatch(re.sub(r"\s+", "", text))
    if match is None:
        return None
    return "-" + _ERRNO_ALIAS.get(match.group(1), match.group(1))


class ReturnSummary:
    """The return kinds of one function definition, given what is known of its callees."""

    def __init__(self, function: tree_sitter.Node, callees: Summaries | None = None) -> None:
        self.function = function
        self.type = return_type(function)
        self.callees = callees or {}
        self.locals: dict[str, list[tree_sitter.Node]] = {}
        self.returned: list[tree_sitter.Node] = []
        body = function.child_by_field_name("body")
        if body is not None:
            self._collect(body)
        self._resolving: set[str] = set()

    def _collect(self, body: tree_sitter.Node) -> None:
        import tree_sitter

        from reviewtool.analysis.grammar import load_query

        cursor = tree_sitter.QueryCursor(load_query("returns"))
        for _, match in cursor.matches(body):
            if "return" in match:
                self.returned += match["return"]
            elif "local" in match and "value" in match:
                name = node_text(match["local"][0])
                self.locals.setdefault(name, []).append(match["value"][0])

    def kinds(self) -> frozenset[ReturnKind]:
        """Every kind the function can return (empty for void)."""
        if self.type.kind == "void":
            return frozenset()
        found: set[ReturnKind] = set()
        for node in self.returned:
            found |= self.of(node)
        return frozenset(found)

    def of(self, node: tree_sitter.Node, pointer: bool | None = None) -> frozenset[ReturnKind]:
        """The kinds an expression of the body can have, as this function's result (pointer:
        read it as a pointer whatever the function returns, as inside PTR_ERR())."""
        node = unwrap(node)
        kind = node.type
        text = node_text(node)
        if pointer is None:
            pointer = self.type.kind == "pointer"
        if kind == "conditional_expression":
            consequence = node.child_by_field_name("consequence")
            alternative = node.child_by_field_name("alternative")
            condition = node.child_by_field_name("condition")
            sides = [consequence or condition, alternative]
            return frozenset().union(
                *(self.of(side, pointer) for side in sides if side is not None)
            )
        if kind == "call_expression":
            return self._call(node, pointer)
        if kind == "pointer_expression" and text.startswith("&"):
            return self._address(node, pointer)
        if kind == "string_literal":
            return frozenset({POINTER})
        if kind == "identifier":
            return self._identifier(text, pointer)
        if kind == "null" or text == "NULL":
            return frozenset({NULL if pointer else ReturnKind("int", "0")})
        if kind in ("true", "false"):
            return frozenset({ReturnKind("bool", text)})
        if (errno := _errno(text)) is not None:
            return frozenset({ReturnKind("errptr", errno) if pointer else ReturnKind("int", errno)})
        if _NUMBER.fullmatch(text):
            return self._number(text, pointer)
        if kind == "unary_expression" and text.startswith("-"):
            argument = node.child_by_field_name("argument")
            if argument is not None and argument.type == "identifier":
                inner = self._identifier(node_text(argument), False)
                if all(k.kind == "int" and k.value.lstrip("-").isdigit() for k in inner):
                    return frozenset(ReturnKind("int", str(-int(k.value))) for k in inner)
            return frozenset({ReturnKind("int", ANY_ERRNO)})
        return frozenset({POINTER if pointer else UNKNOWN})

    def _number(self, text: str, pointer: bool) -> frozenset[ReturnKind]:
        value = re.sub(r"[uUlL]+$", "", re.sub(r"\s+", "", text))
        try:
            number = int(value, 8) if re.fullmatch(r"-?0[0-7]+", value) else int(value, 0)
        except ValueError:  # `08`: no C constant
            return frozenset({UNKNOWN})
        if pointer:
            return frozenset({NULL}) if number == 0 else frozenset({POINTER})
        if self.type.kind == "bool":
            return frozenset({ReturnKind("bool", "true" if number else "false")})
        return frozenset({ReturnKind("int", str(number))})

    def _identifier(self, name: str, pointer: bool) -> frozenset[ReturnKind]:
        if name in self.locals:
            if name in self._resolving:  # `ret = ret ?: f()`: what else it is set to
                return frozenset()
            self._resolving.add(name)
            try:
                found: frozenset[ReturnKind] = frozenset()
                for value in self.locals[name]:
                    found |= self.of(value, pointer)
                return found
            finally:
                self._resolving.discard(name)
        if name in ("true", "false"):
            return frozenset({ReturnKind("bool", name)})
        if _ENUM.fullmatch(name) and not pointer and self.type.kind in ("enum", "int"):
            return frozenset({ReturnKind("enum", name)})
        return frozenset({UNKNOWN})

    def _call(self, node: tree_sitter.Node, pointer: bool) -> frozenset[ReturnKind]:
        name = callee_name(node) or ""
        arguments = call_arguments(node)
        if name == "ERR_PTR" and arguments:
            errnos = {k.value for k in self.of_int(arguments[0]) if k.value.startswith("-E")}
            return frozenset(ReturnKind("errptr", e) for e in errnos or {ANY_ERRNO})
        if name == "ERR_CAST" and arguments:
            inner = self.of(arguments[0], True)
            errptrs = {k for k in inner if k.kind == "errptr"}
            return frozenset(errptrs or {ANY_ERR_PTR})
        if name in ("PTR_ERR", "PTR_ERR_OR_ZERO") and arguments:
            inner = self.of(arguments[0], True)
            codes = {ReturnKind("int", k.value) for k in inner if k.kind == "errptr"}
            if name == "PTR_ERR_OR_ZERO":
                codes.add(ReturnKind("int", "0"))
            return frozenset(codes or {ReturnKind("int", ANY_ERRNO)})
        if name in self.callees:
            return self._as_own(self.callees[name], pointer)
        return frozenset({UNKNOWN})

    def of_int(self, node: tree_sitter.Node) -> frozenset[ReturnKind]:
        """The kinds of an integer expression (an errno inside ERR_PTR())."""
        text = node_text(unwrap(node))
        if (errno := _errno(text)) is not None:
            return frozenset({ReturnKind("int", errno)})
        if unwrap(node).type == "identifier" and text in self.locals:
            found: set[ReturnKind] = set()
            for value in self.locals[text]:
                found |= self.of_int(value)
            return frozenset(found)
        return frozenset({ReturnKind("int", ANY_ERRNO)})

    def _address(self, node: tree_sitter.Node, pointer: bool) -> frozenset[ReturnKind]:
        """`&x->member` is as NULL or as ERR_PTR as x (a member at offset 0 keeps the value):
        a pointer derived from a returned pointer carries its contract."""
        argument = node.child_by_field_name("argument")
        base, through_pointer = argument, False
        while base is not None and base.type in ("field_expression", "subscript_expression"):
            if base.type == "field_expression":
                through_pointer = through_pointer or any(c.type == "->" for c in base.children)
            base = base.child_by_field_name("argument")
        if base is None or base.type != "identifier" or not through_pointer:
            return frozenset({POINTER})
        kinds = self._identifier(node_text(base), True)
        return frozenset(POINTER if k.kind == "unknown" else k for k in kinds)

    def _as_own(self, kinds: Iterable[ReturnKind], pointer: bool) -> frozenset[ReturnKind]:
        """A callee's kinds as this function's: a pointer function passes them as they are;
        an integer one maps NULL to 0."""
        if pointer:
            return frozenset(kinds)
        return frozenset(ReturnKind("int", "0") if k == NULL else k for k in kinds)


def summarise(
    functions: Mapping[str, tree_sitter.Node], known: Summaries | None = None
) -> dict[str, frozenset[ReturnKind]]:
    """The return kinds of every function, each through the others' (a wrapper's callee first),
    to a fixpoint; `known` states functions whose bodies are not among them."""
    summaries: dict[str, frozenset[ReturnKind]] = dict(known or {})
    for name in functions:
        summaries[name] = frozenset()
    for _ in range(10):
        changed = False
        for name, function in functions.items():
            kinds = ReturnSummary(function, summaries).kinds()
            if kinds != summaries[name]:
                summaries[name] = kinds
                changed = True
        if not changed:
            break
    return {name: summaries[name] for name in functions}


def describe(kinds: frozenset[ReturnKind]) -> str:
    """`NULL, ERR_PTR(-ENOMEM), a valid pointer` for a report."""
    order = {"null": 0, "errptr": 1, "pointer": 2, "int": 3, "bool": 4, "enum": 5, "unknown": 6}
    names = {"pointer": "a valid pointer", "null": "NULL", "unknown": "something unknown"}
    ranked = sorted(kinds, key=lambda k: (order.get(k.kind, 9), k.value))
    return ", ".join(names.get(k.kind, str(k)) if not k.value else str(k) for k in ranked)


@dataclass(frozen=True)
class ContractChange:
    """What a patch changed in a function's return contract."""

    function: str
    path: str
    before: frozenset[ReturnKind]
    after: frozenset[ReturnKind]
    type_before: ReturnType | None
    type_after: ReturnType

    @property
    def added(self) -> frozenset[ReturnKind]:
        return self.after - self.before

    @property
    def meaning_changed(self) -> bool:
        """The return type changed kind (int to bool, pointer to int): what success is changes."""
        return self.type_before is not None and self.type_before.kind != self.type_after.kind

    @property
    def changed(self) -> bool:
        return bool(self.added) or self.meaning_changed

    def describe(self) -> str:
        if self.meaning_changed and self.type_before is not None:
            return (
                f"{self.function}() now returns {self.type_after.text} "
                f"({describe(self.after)}), was {self.type_before.text} ({describe(self.before)})"
            )
        return f"{self.function}() can now return {describe(self.added)}"


def contract_changes(
    before: Mapping[str, tree_sitter.Node],
    after: Mapping[str, tree_sitter.Node],
    path: str,
    known: Summaries | None = None,
) -> list[ContractChange]:
    """The functions of one file whose return contract changed between two versions of it
    (a function that is new has no contract to change)."""
    old = summarise(before, known)
    new = summarise(after, known)
    changes = []
    for name, function in after.items():
        if name not in before:
            continue
        change = ContractChange(
            name,
            path,
            old[name],
            new[name],
            return_type(before[name]),
            return_type(function),
        )
        if change.changed:
            changes.append(change)
    return changes
