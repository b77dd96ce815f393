"""The C source layer: same-length rewriting and preprocessor regions."""

from __future__ import annotations

from reviewtool.analysis.csource import normalize, parse_file, preprocessor_regions

STRADDLE = b"""int f(pmd_t pmd)
{
\tif (pmd_present(pmd)) {
\t\tx = 1;
\t}
#ifdef CONFIG_ARCH_ENABLE_THP_MIGRATION
\telse if (is_swap_pmd(pmd)) {
\t\tx = 2;
\t}
#endif
\treturn x;
}
"""


def test_an_else_opened_inside_ifdef_joins_its_chain() -> None:
    rewritten = normalize(STRADDLE)
    assert len(rewritten) == len(STRADDLE)
    assert b"#ifdef" not in rewritten and b"#endif" not in rewritten
    parsed = parse_file("f.c", STRADDLE)
    assert parsed.error_count == 0
    # The directives are still there for the configuration of each line.
    assert parsed.conditions(8) == ["defined(CONFIG_ARCH_ENABLE_THP_MIGRATION)"]
    assert parsed.conditions(11) == []


def test_groups_with_an_else_branch_are_left_alone() -> None:
    source = b"int g(void)\n{\n#ifdef A\n\tx = 1;\n#else\n\tx = 2;\n#endif\n\treturn x;\n}\n"
    assert normalize(source) == source


def test_preprocessor_regions() -> None:
    masked = b"#if A\na\n#elif B\nb\n#else\nc\n#endif\n#ifndef D\nd\n#endif\n"
    regions = preprocessor_regions(masked)
    assert (2, 2, "(A)") in regions
    assert (4, 4, "!((A)) && (B)") in regions
    assert (6, 6, "!((A)) && !((B))") in regions
    assert (9, 9, "!defined(D)") in regions
