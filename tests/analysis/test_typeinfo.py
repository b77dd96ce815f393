"""Types of keys: declarations, struct members, key parsing."""

from __future__ import annotations

from reviewtool.analysis.csource import parse_file
from reviewtool.analysis.typeinfo import CType, Scope, Typer, parse_key, split_top, struct_fields

SOURCE = b"""
struct vm_fault {
\tconst struct {
\t\tstruct vm_area_struct *vma;
\t\tunsigned long address;
\t};
\tpmd_t *pmd;
\tunion {
\t\tpte_t orig_pte;
\t\tpmd_t orig_pmd;
\t};
\tpte_t *pte;
};

struct swap_slots_cache {
\tswp_entry_t *slots;
\tint cur;
};

int f(struct vm_fault *vmf, pte_t pte, struct swap_slots_cache *cache, pte_t *, int n)
{
\tpte_t *ptep = vmf->pte, copy;
\tswp_entry_t entries[4];
\tif (n) {
\t\tunsigned long addr = vmf->address;
\t}
\treturn 0;
}
"""


def scope_and_typer() -> tuple[Scope, Typer]:
    parsed = parse_file("f.c", SOURCE)
    function = next(f for f in parsed.functions if f.name == "f")
    scope = Scope(function.node)
    root = parsed.tree.root_node
    typer = Typer(scope, lambda name: struct_fields(root, name), lambda kind: CType("pte_t", 1))
    return scope, typer


def test_scope_has_parameters_in_order_and_locals() -> None:
    scope, _ = scope_and_typer()
    assert scope.parameters == ["vmf", "pte", "cache", "", "n"]  # unnamed keeps its place
    assert scope.types["ptep"] == CType("pte_t", 1)
    assert scope.types["copy"] == CType("pte_t", 0)
    assert scope.types["entries"] == CType("swp_entry_t", 1)
    assert scope.types["addr"] == CType("unsigned long", 0)  # nested blocks too


def test_key_types_through_members_anonymous_members_and_slots() -> None:
    _, typer = scope_and_typer()
    assert typer.key_type("vmf->orig_pte") == CType("pte_t", 0)  # in an anonymous union
    assert typer.key_type("*vmf->pte") == CType("pte_t", 0)
    assert typer.key_type("vmf->address") == CType("unsigned long", 0)
    assert typer.key_type("cache->slots[cache->cur]") == CType("swp_entry_t", 0)
    assert typer.key_type("*@pte(vmf->pmd,vmf->address)") == CType("pte_t", 0)
    assert typer.key_type("&pte") == CType("pte_t", 1)
    assert typer.key_type("vmf->nothing") is None
    assert typer.key_type("unknown") is None


def test_key_parsing() -> None:
    parsed = parse_key("*@pte(vmf->pmd,addr)")
    assert parsed is not None and parsed.prefix == "*" and parsed.root_names() == ["vmf", "addr"]
    parsed = parse_key("cache->slots[cache->cur].val")
    assert parsed is not None and [s.kind for s in parsed.steps] == ["->", "[]", "."]
    assert parse_key("1 + x") is None
    assert split_top("a,f(b,c),d[e,f]") == ["a", "f(b,c)", "d[e,f]"]
