"""Tree-sitter C syntax, read the way the case analysis needs it: a call's name and
arguments, an expression without its parentheses and casts, a node's text on one line."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from reviewtool.analysis.typeinfo import CType

if TYPE_CHECKING:
    import tree_sitter


def unwrap(node: tree_sitter.Node) -> tree_sitter.Node:
    while node.type in ("parenthesized_expression", "cast_expression"):
        inner = node.child_by_field_name("value") if node.type == "cast_expression" else None
        if inner is None:
            named = [c for c in node.named_children if c.type != "comment"]
            if len(named) != 1:
                return node
            inner = named[0]
        node = inner
    return node


def callee_name(node: tree_sitter.Node) -> str | None:
    function = node.child_by_field_name("function")
    if function is not None and function.type == "identifier" and function.text:
        return function.text.decode()
    return None


def call_arguments(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    arguments = node.child_by_field_name("arguments")
    if arguments is None:
        return []
    return [c for c in arguments.named_children if c.type != "comment"]


def operator_of(node: tree_sitter.Node) -> str:
    operator = node.child_by_field_name("operator")
    return operator.type if operator is not None else ""


def node_text(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    text = node.text.decode("utf-8", "replace")
    if "  " in text or "\n" in text or "\t" in text or "\r" in text:
        text = _SPACES.sub(" ", text)
    return text.strip()


_SPACES = re.compile(r"\s+")


def line_of(node: tree_sitter.Node) -> int:
    return node.start_point[0] + 1


def declared_name(node: tree_sitter.Node | None) -> str | None:
    while node is not None and node.type != "identifier":
        node = node.child_by_field_name("declarator")
    return node_text(node) if node is not None else None


def comma_parts(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    parts: list[tree_sitter.Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "comma_expression":
            left = current.child_by_field_name("left")
            right = current.child_by_field_name("right")
            stack.extend(c for c in (right, left) if c is not None)
        else:
            parts.append(current)
    return parts


def cast_type(node: tree_sitter.Node) -> CType | None:
    """The type of the outermost cast in `node` (through parentheses), if any."""
    while node.type in ("parenthesized_expression", "cast_expression"):
        if node.type == "cast_expression":
            descriptor = node.child_by_field_name("type")
            text = node_text(descriptor)
            base = re.sub(r"\b(const|volatile)\b|\*", " ", text).split()
            return CType(" ".join(base), text.count("*")) if base else None
        named = [c for c in node.named_children if c.type != "comment"]
        if len(named) != 1:
            return None
        node = named[0]
    return None
