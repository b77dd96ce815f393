"""The C source layer: same-length rewriting, preprocessor regions, structs through includes."""

from __future__ import annotations

from reviewtool.analysis.csource import normalize, parse_file, preprocessor_regions
from reviewtool.analysis.structs import StructTable
from reviewtool.analysis.typeinfo import CType

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


def test_struct_members_are_found_through_the_includes() -> None:
    files = {
        "mm/walk.c": b'#include <linux/mm.h>\n#include "internal.h"\nint w(void) { return 0; }\n',
        "mm/internal.h": b"struct local { int x; };\n",
        "include/linux/mm.h": (
            b"#include <linux/mm_types.h>\n/* struct vm_fault { in a comment */\n"
        ),
        "include/linux/mm_types.h": b"struct vm_fault {\n\tpte_t orig_pte;\n\tpte_t *pte;\n};\n",
    }
    reads: list[str] = []

    def read(path: str) -> tuple[str, bytes] | None:
        reads.append(path)
        return (f"blob:{path}", files[path]) if path in files else None

    table = StructTable(read, lambda blob, path, content: parse_file(path, content))
    fields = table.lookup("vm_fault", "mm/walk.c")
    assert fields == {"orig_pte": CType("pte_t", 0), "pte": CType("pte_t", 1)}
    assert table.lookup("local", "mm/walk.c") == {"x": CType("int", 0)}
    assert table.lookup("nowhere", "mm/walk.c") is None
    # A later state reuses what it found while the files that led to it are unchanged.
    again = StructTable(
        read, lambda blob, path, content: parse_file(path, content), known=table.known
    )
    reads.clear()
    assert again.lookup("vm_fault", "mm/walk.c") == fields
    assert set(reads) <= {"include/linux/mm_types.h", "include/linux/mm.h", "mm/walk.c"}
