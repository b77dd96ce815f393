"""Tree-sitter C syntax as the case analysis reads it, on expressions parsed by the project's
own C layer (kernel macros normalised first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from reviewtool.analysis.csource import parse_file
from reviewtool.analysis.csyntax import (
    call_arguments,
    callee_name,
    cast_type,
    comma_parts,
    declared_name,
    line_of,
    node_text,
    operator_of,
    unwrap,
)
from reviewtool.analysis.typeinfo import CType

if TYPE_CHECKING:
    import tree_sitter


def statements(body: str) -> list[tree_sitter.Node]:
    """The statements of `void f(void) { body }`, parsed as the analysis parses files."""
    parsed = parse_file("mm/x.c", f"void f(void)\n{{\n{body}\n}}\n".encode())
    assert parsed.error_count == 0
    (function,) = parsed.functions
    block = function.node.child_by_field_name("body")
    assert block is not None
    return [c for c in block.named_children if c.type != "comment"]


def expression(text: str) -> tree_sitter.Node:
    """One expression statement's expression, on line 3 of its file."""
    (statement,) = statements(f"\t{text};")
    assert statement.type == "expression_statement"
    return statement.named_children[0]


@pytest.mark.parametrize(
    ("text", "inner"),
    [
        ("(pte)", "pte"),
        ("((pte))", "pte"),
        ("(pte_t *)ptep", "ptep"),
        ("((pte_t *)(pmdp))", "pmdp"),
        ("(unsigned long)(void *)addr", "addr"),
        ("(pte /* the old one */)", "pte"),
        ("(a, b)", "a, b"),
        ("*ptep", "*ptep"),
        ("ptep_get(ptep)", "ptep_get(ptep)"),
    ],
)
def test_unwrap_strips_parentheses_and_casts(text: str, inner: str) -> None:
    assert node_text(unwrap(expression(text))) == inner


def test_unwrap_keeps_a_node_it_cannot_see_through() -> None:
    node = expression("x")
    assert unwrap(node) == node


def test_callee_name_and_arguments() -> None:
    call = expression("pte_to_swp_entry(ptep_get(ptep + 1), /* why */ 0)")
    assert callee_name(call) == "pte_to_swp_entry"
    assert [node_text(a) for a in call_arguments(call)] == ["ptep_get(ptep + 1)", "0"]
    assert call_arguments(expression("flush_tlb_all()")) == []


@pytest.mark.parametrize("text", ["ops->pte_entry(pte)", "(*fn)(pte)", "table[i](pte)"])
def test_an_indirect_call_has_no_callee_name(text: str) -> None:
    call = expression(text)
    assert call.type == "call_expression"
    assert callee_name(call) is None
    assert [node_text(a) for a in call_arguments(call)] == ["pte"]


def test_call_arguments_of_something_that_is_no_call() -> None:
    assert call_arguments(expression("x + y")) == []


@pytest.mark.parametrize(
    ("text", "operator"),
    [
        ("!pte_none(pte)", "!"),
        ("-EAGAIN", "-"),
        ("*ptep", "*"),
        ("&vmf->orig_pte", "&"),
        ("a && b", "&&"),
        ("swp_type(entry) != type", "!="),
        ("x", ""),
        ("f(x)", ""),
    ],
)
def test_operator_of(text: str, operator: str) -> None:
    assert operator_of(expression(text)) == operator


def test_node_text_is_one_line() -> None:
    call = expression("pte_to_swp_entry(\n\t\t\tptep_get(ptep)\t)")
    assert node_text(call) == "pte_to_swp_entry( ptep_get(ptep) )"
    assert node_text(expression("a  +\r\n  b")) == "a + b"
    assert node_text(None) == ""


def test_line_of_is_one_based() -> None:
    first, second = statements("\tpte = ptep_get(ptep);\n\n\tswap_free(entry);")
    assert (line_of(first), line_of(second)) == (3, 5)
    parsed = parse_file("mm/x.c", b"int x;\n")
    assert line_of(parsed.tree.root_node) == 1


@pytest.mark.parametrize(
    ("declaration", "names"),
    [
        ("pte_t pte;", ["pte"]),
        ("pte_t *ptep = pte_offset_map(pmd, addr);", ["ptep"]),
        ("pte_t **pp, ptes[PTRS_PER_PTE];", ["pp", "ptes"]),
        ("swp_entry_t entry = pte_to_swp_entry(pte), other;", ["entry", "other"]),
        ("const pte_t *const ptep = NULL;", ["ptep"]),
    ],
)
def test_declared_name(declaration: str, names: list[str]) -> None:
    (statement,) = statements(f"\t{declaration}")
    assert statement.type == "declaration"
    declarators = statement.children_by_field_name("declarator")
    assert [declared_name(d) for d in declarators] == names


def test_declared_name_of_nothing() -> None:
    assert declared_name(None) is None


def test_comma_parts_in_source_order() -> None:
    (loop,) = statements("\tdo {\n\t} while (pte++, addr += PAGE_SIZE, addr != end);")
    condition = loop.child_by_field_name("condition")
    assert condition is not None
    parts = comma_parts(unwrap(condition))
    assert [node_text(p) for p in parts] == ["pte++", "addr += PAGE_SIZE", "addr != end"]
    single = expression("addr != end")
    assert comma_parts(single) == [single]


@pytest.mark.parametrize(
    ("text", "ctype"),
    [
        ("(pte_t *)pmdp", CType("pte_t", 1)),
        ("((pte_t *)(pmdp))", CType("pte_t", 1)),
        ("(const pte_t *)ptep", CType("pte_t", 1)),
        ("(pte_t * const *)pp", CType("pte_t", 2)),
        ("(unsigned long)addr", CType("unsigned long", 0)),
        ("(struct page *)(void *)p", CType("struct page", 1)),  # the outermost cast
        ("(volatile swp_entry_t)entry", CType("swp_entry_t", 0)),
    ],
)
def test_cast_type(text: str, ctype: CType) -> None:
    assert cast_type(expression(text)) == ctype


@pytest.mark.parametrize("text", ["pmdp", "(pmdp)", "*(pte_t *)pmdp", "(a, (pte_t *)b)"])
def test_no_cast_type(text: str) -> None:
    assert cast_type(expression(text)) is None
