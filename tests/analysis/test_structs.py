"""Struct members found where the compiler finds them: in the file, then through its includes
(`<linux/...>`, the architecture's `<asm/...>` or asm-generic's, `"..."` beside the file)."""

from __future__ import annotations

from reviewtool.analysis.structs import StructTable
from reviewtool.analysis.typeinfo import CType


class Tree:
    """Files by path, read as StructTable reads a tree state: (blob id, content)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.reads: list[str] = []

    def read(self, path: str) -> tuple[str, bytes] | None:
        self.reads.append(path)
        content = self.files.get(path)
        return (f"{path}@{hash(content)}", content) if content is not None else None


def table(
    tree: Tree,
    limit: int = 400,
    known: dict[str, tuple[dict[str, CType], tuple[tuple[str, str], ...]]] | None = None,
) -> StructTable:
    return StructTable(tree.read, limit=limit, known=known)


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

    table = StructTable(read)
    fields = table.lookup("vm_fault", "mm/walk.c")
    assert fields == {"orig_pte": CType("pte_t", 0), "pte": CType("pte_t", 1)}
    assert table.lookup("local", "mm/walk.c") == {"x": CType("int", 0)}
    assert table.lookup("nowhere", "mm/walk.c") is None
    # A later state reuses what it found while the files that led to it are unchanged.
    again = StructTable(read, known=table.known)
    reads.clear()
    assert again.lookup("vm_fault", "mm/walk.c") == fields
    assert set(reads) <= {"include/linux/mm_types.h", "include/linux/mm.h", "mm/walk.c"}


ARCH_TREE = {
    "arch/s390/mm/hugetlbpage.c": (
        b'#include <linux/mm.h>\n#include <asm/pgtable.h>\n#include "../kernel/entry.h"\n'
    ),
    "mm/hugetlb.c": b"#include <asm/pgtable.h>\n#include <asm/tlb.h>\n",
    "include/linux/mm.h": b"",
    "arch/s390/include/asm/pgtable.h": b"struct pgste { unsigned long bits; pte_t *ptep; };\n",
    "include/asm-generic/pgtable.h": b"struct pgste { int generic; };\n",
    "include/asm-generic/tlb.h": b"union batch { swp_entry_t slots[4]; struct page *page; };\n",
    "arch/s390/kernel/entry.h": b"#include <asm/tlb.h>\nstruct frame { int a, *b; };\n",
}


def test_asm_headers_are_the_architecture_s_else_asm_generic() -> None:
    tree = Tree(ARCH_TREE)
    on_s390 = table(tree).lookup("pgste", "arch/s390/mm/hugetlbpage.c")
    assert on_s390 == {"bits": CType("unsigned long"), "ptep": CType("pte_t", 1)}
    # Generic code is read for x86, which has no such header here: asm-generic's.
    assert table(tree).lookup("pgste", "mm/hugetlb.c") == {"generic": CType("int")}


def test_quoted_includes_are_relative_to_the_file() -> None:
    tree = Tree(ARCH_TREE)
    fields = table(tree).lookup("frame", "arch/s390/mm/hugetlbpage.c")
    assert fields == {"a": CType("int"), "b": CType("int", 1)}
    assert "arch/s390/kernel/entry.h" in tree.reads


def test_unions_arrays_and_pointers() -> None:
    tree = Tree(ARCH_TREE)
    fields = table(tree).lookup("batch", "arch/s390/mm/hugetlbpage.c")  # via entry.h
    assert fields == {"slots": CType("swp_entry_t", 1), "page": CType("struct page", 1)}


def test_a_struct_in_the_file_itself() -> None:
    tree = Tree(
        {
            "mm/swapfile.c": (
                b"#include <linux/swap.h>\n"
                b"struct swap_walk {\n\tpte_t orig;\n\tstruct {\n\t\tint inner;\n\t} nested;\n"
                b"\tvoid (*visit)(pte_t *);\n};\n"
            )
        }
    )
    fields = table(tree).lookup("swap_walk", "mm/swapfile.c")
    assert fields is not None and fields["orig"] == CType("pte_t")
    assert "inner" not in fields  # a member of the anonymous struct, not of this one


def test_a_found_struct_is_not_searched_again() -> None:
    tree = Tree(ARCH_TREE)
    structs = table(tree)
    first = structs.lookup("pgste", "arch/s390/mm/hugetlbpage.c")
    tree.reads.clear()
    assert structs.lookup("pgste", "mm/hugetlb.c") is first  # by name, once per table
    assert structs.lookup("absent", "mm/hugetlb.c") is None
    tree.reads.clear()
    assert structs.lookup("absent", "mm/hugetlb.c") is None
    assert tree.reads == []


def test_a_changed_header_is_searched_again() -> None:
    files = dict(ARCH_TREE)
    tree = Tree(files)
    first = table(tree)
    assert first.lookup("pgste", "arch/s390/mm/hugetlbpage.c") is not None
    files["arch/s390/include/asm/pgtable.h"] = b"struct pgste { pte_t pte; };\n"
    later = table(tree, known=first.known)
    assert later.lookup("pgste", "arch/s390/mm/hugetlbpage.c") == {"pte": CType("pte_t")}


def test_a_header_an_earlier_search_passed_through_defines_it() -> None:
    tree = Tree(
        {
            "mm/a.c": b"#include <linux/a.h>\n",
            "include/linux/a.h": b"#include <linux/b.h>\n#include <linux/c.h>\n",
            "include/linux/b.h": b"struct seen { long s; };\n",
            "include/linux/c.h": b"struct wanted { int w; };\n",
            "mm/elsewhere.c": b"",  # includes nothing
        }
    )
    structs = table(tree)
    assert structs.lookup("wanted", "mm/a.c") == {"w": CType("int")}
    assert "include/linux/b.h" in tree.reads  # read on the way, breadth first
    # What b.h defines is found there, even from a file whose includes do not lead to it.
    assert structs.lookup("seen", "mm/elsewhere.c") == {"s": CType("long")}
    assert table(tree).lookup("seen", "mm/elsewhere.c") is None


def test_include_cycles_and_the_search_limit() -> None:
    cycle = {
        "mm/a.c": b'#include "a.h"\n',
        "mm/a.h": b'#include "b.h"\n',
        "mm/b.h": b'#include "a.h"\n#include "c.h"\n',
        "mm/c.h": b"struct deep { int d; };\n",
    }
    assert table(Tree(cycle)).lookup("deep", "mm/a.c") == {"d": CType("int")}
    assert table(Tree(cycle)).lookup("missing", "mm/a.c") is None
    # Past the limit of files searched, the struct is not found.
    assert table(Tree(cycle), limit=2).lookup("deep", "mm/a.c") is None
