"""Compiler diagnostics parsed from real Kbuild output (gcc 12 and clang 14 formats), and what
makes two of them the same diagnostic across patches."""

from __future__ import annotations

from pathlib import Path

from reviewtool.kbuild.diagnostics import Diagnostic, parse_diagnostics

SRCTREE = Path("/home/ci/linux")

# `make O=out ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- arch/arm64/mm/hugetlbpage.o`
# with an unused variable, a static function left unused, and a typo in a header.
GCC = "\n".join(
    [
        "make[1]: Entering directory '/home/ci/out'",
        "  SYNC    include/config/auto.conf.cmd",
        "  CC      arch/arm64/mm/hugetlbpage.o",
        "/home/ci/linux/arch/arm64/mm/hugetlbpage.c: In function ‘set_huge_pte_at’:",
        (
            "/home/ci/linux/arch/arm64/mm/hugetlbpage.c:256:23: warning: unused "
            "variable ‘entry’ [-Wunused-variable]"
        ),
        "  256 |         swp_entry_t entry;",
        "      |                     ^~~~~",
        "/home/ci/linux/arch/arm64/mm/hugetlbpage.c: At top level:",
        (
            "/home/ci/linux/arch/arm64/mm/hugetlbpage.c:301:12: warning: "
            "‘huge_pte_marker’ defined but not used [-Wunused-function]"
        ),
        "  301 | static int huge_pte_marker(pte_t pte)",
        "      |            ^~~~~~~~~~~~~~~",
        "In file included from /home/ci/linux/include/linux/mm.h:700,",
        "                 from /home/ci/linux/arch/arm64/mm/hugetlbpage.c:12:",
        "/home/ci/linux/include/linux/swapops.h: In function ‘is_pte_marker’:",
        (
            "/home/ci/linux/include/linux/swapops.h:412:16: error: implicit "
            "declaration of function ‘is_pte_marker_entri’; did you mean "
            "‘is_pte_marker_entry’? [-Werror=implicit-function-declaration]"
        ),
        "  412 |         return is_pte_marker_entri(pte_to_swp_entry(pte));",
        "      |                ^~~~~~~~~~~~~~~~~~~",
        "      |                is_pte_marker_entry",
        (
            "/home/ci/linux/include/linux/swapops.h:398:20: note: "
            "‘is_pte_marker_entry’ declared here"
        ),
        "  398 | static inline bool is_pte_marker_entry(swp_entry_t entry)",
        "      |                    ^~~~~~~~~~~~~~~~~~~",
        "cc1: some warnings being treated as errors",
        (
            "make[3]: *** [/home/ci/linux/scripts/Makefile.build:250: "
            "arch/arm64/mm/hugetlbpage.o] Error 1"
        ),
        "make[2]: *** [/home/ci/linux/scripts/Makefile.build:500: arch/arm64/mm] Error 2",
        "make[1]: *** [/home/ci/linux/Makefile:1992: .] Error 2",
        "make[1]: Leaving directory '/home/ci/out'",
        "make: *** [Makefile:231: __sub-make] Error 2",
        "",
    ]
)


def test_gcc_warnings_and_errors() -> None:
    assert parse_diagnostics(GCC, SRCTREE) == [
        Diagnostic(
            "arch/arm64/mm/hugetlbpage.c",
            256,
            23,
            "warning",
            "-Wunused-variable",
            "unused variable ‘entry’",
            "set_huge_pte_at",
        ),
        Diagnostic(
            "arch/arm64/mm/hugetlbpage.c",
            301,
            12,
            "warning",
            "-Wunused-function",
            "‘huge_pte_marker’ defined but not used",
            "",  # "At top level:"
        ),
        Diagnostic(
            "include/linux/swapops.h",
            412,
            16,
            "error",
            "-Werror=implicit-function-declaration",
            "implicit declaration of function ‘is_pte_marker_entri’; "
            "did you mean ‘is_pte_marker_entry’?",
            "is_pte_marker",
        ),
    ]


def test_fatal_errors_and_diagnostics_without_a_column() -> None:
    output = """\
  CC      mm/hugetlb.o
mm/hugetlb.c:18:10: fatal error: linux/pte_marker.h: No such file or directory
   18 | #include <linux/pte_marker.h>
      |          ^~~~~~~~~~~~~~~~~~~~
compilation terminated.
./include/linux/mm.h:42: warning: "PTE_MARKER_UFFD_WP" redefined
make[3]: *** [scripts/Makefile.build:250: mm/hugetlb.o] Error 1
"""
    found = parse_diagnostics(output, SRCTREE)
    assert [(d.path, d.line, d.column, d.severity, d.flag, d.message) for d in found] == [
        ("mm/hugetlb.c", 18, 10, "error", "", "linux/pte_marker.h: No such file or directory"),
        ("include/linux/mm.h", 42, 0, "warning", "", '"PTE_MARKER_UFFD_WP" redefined'),
    ]


def test_clang_diagnostics() -> None:
    output = """\
  CC      mm/memory.o
mm/memory.c:1012:7: warning: variable 'entry' set but not used [-Wunused-but-set-variable]
        swp_entry_t entry;
                    ^
mm/memory.c:1105:10: error: call to undeclared function 'pte_marker_get'; ISO C99 and later \
do not support implicit function declarations [-Wimplicit-function-declaration]
                return pte_marker_get(entry);
                       ^
1 warning and 1 error generated.
"""
    found = parse_diagnostics(output, SRCTREE)
    assert [(d.line, d.severity, d.flag, d.function) for d in found] == [
        (1012, "warning", "-Wunused-but-set-variable", ""),
        (1105, "error", "-Wimplicit-function-declaration", ""),
    ]
    assert found[1].message.startswith("call to undeclared function 'pte_marker_get';")


def test_make_s_own_lines_are_no_diagnostics() -> None:
    noise = """\
make[3]: *** [/home/ci/linux/scripts/Makefile.build:250: mm/hugetlb.o] Error 1
Makefile:1992: recipe for target 'mm' failed
scripts/Makefile.build:44: mm/Makefile: No such file or directory
cc1: some warnings being treated as errors
aarch64-linux-gnu-ld: mm/hugetlb.o: in function `hugetlb_fault':
hugetlb.c:(.text+0x1a4c): undefined reference to `pte_marker_get'
    inlined from ‘copy_pte_range’ at mm/memory.c:1105:10:
"""
    assert parse_diagnostics(noise, SRCTREE) == []


def test_paths_outside_the_tree_stay_absolute() -> None:
    output = "/usr/lib/gcc-cross/aarch64-linux-gnu/12/include/stddef.h:7:1: warning: x [-Wfoo]\n"
    (found,) = parse_diagnostics(output, SRCTREE)
    assert found.path == "/usr/lib/gcc-cross/aarch64-linux-gnu/12/include/stddef.h"


def test_the_tree_is_resolved_before_paths_are_made_relative(tmp_path: Path) -> None:
    real = tmp_path / "linux"
    (real / "mm").mkdir(parents=True)
    link = tmp_path / "current"
    link.symlink_to(real)
    output = f"{real}/mm/hugetlb.c:5:1: warning: x [-Wfoo]\n"
    (found,) = parse_diagnostics(output, link)
    assert found.path == "mm/hugetlb.c"


def test_the_function_context_ends_with_its_compilation_unit() -> None:
    output = """\
  CC      mm/memory.o
mm/memory.c: In function ‘copy_nonpresent_pte’:
mm/memory.c:790:21: warning: unused variable ‘marker’ [-Wunused-variable]
  CC      mm/hugetlb.o
mm/hugetlb.c:40:12: warning: ‘hugetlb_marker’ defined but not used [-Wunused-function]
"""
    memory, hugetlb = parse_diagnostics(output, SRCTREE)
    assert memory.function == "copy_nonpresent_pte"
    assert hugetlb.function == ""
    # The same warning, built alone (an incremental build), is the same diagnostic.
    (alone,) = parse_diagnostics(output.split("  CC      mm/hugetlb.o\n")[1], SRCTREE)
    assert hugetlb.identity == alone.identity


def test_identity_ignores_line_numbers() -> None:
    before = Diagnostic(
        "mm/memory.c", 790, 21, "warning", "-Wunused-variable", "unused variable ‘x’", "f"
    )
    moved = Diagnostic(
        "mm/memory.c", 812, 9, "warning", "-Wunused-variable", "unused variable ‘x’", "f"
    )
    assert before.identity == moved.identity
    assert before.identity == (
        "mm/memory.c",
        "f",
        "-Wunused-variable",
        "warning: unused variable ‘x’",
    )
    # Numbers inside the message are not what the diagnostic is about either.
    sized = Diagnostic(
        "mm/a.c",
        1,
        1,
        "warning",
        "-Wframe-larger-than=",
        "the frame size of 2048 bytes is larger than 1024 bytes",
        "f",
    )
    other = Diagnostic(
        "mm/a.c",
        9,
        1,
        "warning",
        "-Wframe-larger-than=",
        "the frame size of 2064 bytes is larger than 1024 bytes",
        "f",
    )
    assert sized.identity == other.identity
    # Another function, another variable, another file: another diagnostic.
    for different in (
        Diagnostic(
            "mm/memory.c", 790, 21, "warning", "-Wunused-variable", "unused variable ‘x’", "g"
        ),
        Diagnostic(
            "mm/memory.c", 790, 21, "warning", "-Wunused-variable", "unused variable ‘y’", "f"
        ),
        Diagnostic(
            "mm/rmap.c", 790, 21, "warning", "-Wunused-variable", "unused variable ‘x’", "f"
        ),
    ):
        assert different.identity != before.identity


def test_diagnostics_sort_by_place() -> None:
    later = Diagnostic("mm/memory.c", 90, 1, "warning", "", "b")
    earlier = Diagnostic("mm/memory.c", 12, 5, "warning", "", "a")
    header = Diagnostic("include/linux/mm.h", 400, 1, "error", "", "c")
    assert sorted([later, earlier, header]) == [header, earlier, later]
