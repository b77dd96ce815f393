from __future__ import annotations

from pathlib import Path

import pytest
import tree_sitter

from reviewtool.analysis.grammar import QUERY_DIR, load_query, parser, query_names
from reviewtool.errors import ToolchainError


def test_there_are_queries() -> None:
    assert "calls" in query_names()


@pytest.mark.parametrize("name", query_names())
def test_every_query_compiles_and_has_a_header(name: str) -> None:
    query = load_query(name)
    assert query.pattern_count >= 1
    first = (QUERY_DIR / f"{name}.scm").read_text().splitlines()[0]
    assert first.startswith(f"; {name}.scm:")


def test_calls_query_finds_calls_in_kernel_style_c() -> None:
    source = b"""
static inline int __must_check f(pte_t pte)
{
	if (is_swap_pte(pte))
		return non_swap_entry(pte_to_swp_entry(pte));
	return 0;
}
"""
    tree = parser().parse(source)
    captures = tree_sitter.QueryCursor(load_query("calls")).captures(tree.root_node)
    names = sorted(node.text.decode() for node in captures["callee"] if node.text)
    assert names == ["is_swap_pte", "non_swap_entry", "pte_to_swp_entry"]


def test_broken_query_is_a_toolchain_error(tmp_path: Path) -> None:
    (tmp_path / "bad.scm").write_text("(call_expression function: (nonexistent_node) @x)")
    with pytest.raises(ToolchainError, match="does not compile"):
        load_query("bad", tmp_path)
