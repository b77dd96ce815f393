from __future__ import annotations

from pathlib import Path

import pytest
import tree_sitter

from reviewtool.analysis.grammar import QUERY_DIR, load_query, parser, query_names
from reviewtool.errors import ToolchainError


def test_every_query_is_the_engines() -> None:
    # A query file nothing loads is dead weight: each one is named by the engine's code.
    package = Path(__file__).resolve().parents[2] / "reviewtool"
    code = "\n".join(path.read_text() for path in package.rglob("*.py"))
    assert query_names() == ["declarations", "returns"]
    for name in query_names():
        assert f'load_query("{name}")' in code


@pytest.mark.parametrize("name", query_names())
def test_every_query_compiles_and_has_a_header(name: str) -> None:
    query = load_query(name)
    assert query.pattern_count >= 1
    first = (QUERY_DIR / f"{name}.scm").read_text().splitlines()[0]
    assert first.startswith(f"; {name}.scm:")


def test_declarations_query_finds_every_declaration_in_a_body() -> None:
    source = b"""
static int f(pte_t *ptep)
{
	pte_t pte = ptep_get(ptep), *next;
	if (is_swap_pte(pte)) {
		swp_entry_t entry = pte_to_swp_entry(pte);
		for (int i = 0; i < 2; i++) {
			struct page *page;
		}
	}
	return 0;
}
"""
    tree = parser().parse(source)
    body = tree.root_node.children[0].child_by_field_name("body")
    assert body is not None
    captures = tree_sitter.QueryCursor(load_query("declarations")).captures(body)
    found = sorted(
        (node.start_point[0], (node.text or b"").decode()) for node in captures["declaration"]
    )
    assert [text for _, text in found] == [
        "pte_t pte = ptep_get(ptep), *next;",
        "swp_entry_t entry = pte_to_swp_entry(pte);",
        "int i = 0;",
        "struct page *page;",
    ]


def test_broken_query_is_a_toolchain_error(tmp_path: Path) -> None:
    (tmp_path / "bad.scm").write_text("(call_expression function: (nonexistent_node) @x)")
    with pytest.raises(ToolchainError, match="does not compile"):
        load_query("bad", tmp_path)
