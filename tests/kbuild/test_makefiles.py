"""What Kbuild's own files say: the Kconfig symbol a Makefile builds an object under, and the
files a built object was compiled from (its `.name.o.cmd`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewtool.kbuild.makefiles import guard_symbol, object_dependencies

# Shaped like v6.1's arch/arm64/mm/Makefile, mm/Makefile and fs/hugetlbfs/Makefile.
ARM64_MM = """\
# SPDX-License-Identifier: GPL-2.0
obj-y\t\t\t\t:= dma-mapping.o extable.o fault.o init.o \\
\t\t\t\t   cache.o copypage.o flush.o \\
\t\t\t\t   ioremap.o mmap.o pgd.o mmu.o \\
\t\t\t\t   context.o proc.o pageattr.o
obj-$(CONFIG_HUGETLB_PAGE)\t+= hugetlbpage.o
obj-$(CONFIG_PTDUMP_CORE)\t+= ptdump.o
obj-$(CONFIG_PTDUMP_DEBUGFS)\t+= ptdump_debugfs.o
obj-$(CONFIG_TRANS_TABLE)\t+= trans_pgd.o
obj-$(CONFIG_TRANS_TABLE)\t+= trans_pgd-asm.o
obj-$(CONFIG_DEBUG_VIRTUAL)\t+= physaddr.o
obj-$(CONFIG_ARM64_MTE)\t\t+= mteswap.o
KASAN_SANITIZE_physaddr.o\t+= n

obj-$(CONFIG_KASAN)\t\t+= kasan_init.o
KASAN_SANITIZE_kasan_init.o\t:= n
"""

MM = """\
mmu-y\t\t\t:= nommu.o
mmu-$(CONFIG_MMU)\t:= highmem.o memory.o mincore.o \\
\t\t\t   mlock.o mmap.o mmu_gather.o mprotect.o mremap.o \\
\t\t\t   msync.o page_vma_mapped.o pagewalk.o \\
\t\t\t   pgtable-generic.o rmap.o vmalloc.o

ifdef CONFIG_CROSS_MEMORY_ATTACH
mmu-$(CONFIG_MMU)\t+= process_vm_access.o
endif

obj-y\t\t\t:= filemap.o mempool.o oom_kill.o fadvise.o \\
\t\t\t   maccess.o page-writeback.o folio-compat.o \\
\t\t\t   readahead.o swap.o truncate.o vmscan.o shmem.o \\
\t\t\t   util.o mmzone.o vmstat.o backing-dev.o \\
\t\t\t   mm_init.o percpu.o slab_common.o \\
\t\t\t   compaction.o \\
\t\t\t   interval_tree.o list_lru.o workingset.o \\
\t\t\t   debug.o gup.o mmap_lock.o $(mmu-y)

obj-$(CONFIG_SWAP)\t+= page_io.o swap_state.o swapfile.o swap_slots.o
obj-$(CONFIG_HUGETLBFS)\t+= hugetlb.o
obj-$(CONFIG_HUGETLB_PAGE_OPTIMIZE_VMEMMAP)\t+= hugetlb_vmemmap.o
obj-$(CONFIG_NUMA) \t+= mempolicy.o
"""

HUGETLBFS = """\
obj-$(CONFIG_HUGETLBFS) += hugetlbfs.o

hugetlbfs-objs := inode.o
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for path, text in {
        "arch/arm64/mm/Makefile": ARM64_MM,
        "mm/Makefile": MM,
        "fs/hugetlbfs/Makefile": HUGETLBFS,
        "arch/s390/mm/Kbuild": "obj-$(CONFIG_HUGETLB_PAGE) += hugetlbpage.o\n",
        "Kbuild": "obj-y += init/\nobj-$(CONFIG_BOUNCE) += bounce.o\n",
    }.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("object_path", "symbol"),
    [
        ("arch/arm64/mm/hugetlbpage.o", "HUGETLB_PAGE"),
        ("arch/arm64/mm/mteswap.o", "ARM64_MTE"),
        ("arch/arm64/mm/fault.o", ""),
        ("arch/arm64/mm/proc.o", ""),  # the last line of a continued list
        ("arch/arm64/mm/trans_pgd-asm.o", "TRANS_TABLE"),
        ("mm/swapfile.o", "SWAP"),
        ("mm/hugetlb.o", "HUGETLBFS"),
        ("mm/hugetlb_vmemmap.o", "HUGETLB_PAGE_OPTIMIZE_VMEMMAP"),
        ("mm/mempolicy.o", "NUMA"),
        ("mm/vmscan.o", ""),
        ("mm/memory.o", "MMU"),  # mmu-$(CONFIG_MMU) spliced into obj-y as $(mmu-y)
        ("mm/rmap.o", "MMU"),
        ("mm/nommu.o", ""),  # mmu-y: in obj-y whatever MMU is
        ("fs/hugetlbfs/inode.o", "HUGETLBFS"),  # a part of the composite hugetlbfs.o
        ("arch/s390/mm/hugetlbpage.o", "HUGETLB_PAGE"),  # a Kbuild file instead of a Makefile
        ("bounce.o", "BOUNCE"),  # the top directory
    ],
)
def test_guard_symbol(tree: Path, object_path: str, symbol: str) -> None:
    assert guard_symbol(tree, object_path) == symbol


@pytest.mark.parametrize(
    "object_path",
    [
        "arch/arm64/mm/absent.o",
        "arch/arm64/mm/kasan.o",  # a prefix of a listed name is not that name
        "arch/arm64/mm/n",  # KASAN_SANITIZE_physaddr.o += n is no object list
        "drivers/none/x.o",  # no Makefile at all
    ],
)
def test_an_object_no_makefile_lists(tree: Path, object_path: str) -> None:
    assert guard_symbol(tree, object_path) is None


# The .cmd of an out-of-tree (O=) build, as scripts/basic/fixdep writes it (v6.1).
def cmd_file(srctree: Path) -> str:
    return f"""\
cmd_arch/arm64/mm/hugetlbpage.o := aarch64-linux-gnu-gcc \
-Wp,-MMD,arch/arm64/mm/.hugetlbpage.o.d -nostdinc -I{srctree}/arch/arm64/include \
-c -o arch/arm64/mm/hugetlbpage.o {srctree}/arch/arm64/mm/hugetlbpage.c

source_arch/arm64/mm/hugetlbpage.o := {srctree}/arch/arm64/mm/hugetlbpage.c

deps_arch/arm64/mm/hugetlbpage.o := \\
  {srctree}/include/linux/compiler-version.h \\
    $(wildcard include/config/CC_VERSION_TEXT) \\
  {srctree}/include/linux/kconfig.h \\
    $(wildcard include/config/CPU_BIG_ENDIAN) \\
  include/generated/autoconf.h \\
  {srctree}/include/linux/mm.h \\
  {srctree}/arch/arm64/include/asm/pgtable.h \\

arch/arm64/mm/hugetlbpage.o: $(deps_arch/arm64/mm/hugetlbpage.o)

$(deps_arch/arm64/mm/hugetlbpage.o):
"""


def test_object_dependencies_are_tree_relative(tmp_path: Path) -> None:
    srctree, objtree = tmp_path / "linux", tmp_path / "out"
    srctree.mkdir()
    (objtree / "arch/arm64/mm").mkdir(parents=True)
    (objtree / "arch/arm64/mm/.hugetlbpage.o.cmd").write_text(cmd_file(srctree.resolve()))
    assert object_dependencies(objtree, srctree, "arch/arm64/mm/hugetlbpage.o") == {
        "arch/arm64/mm/hugetlbpage.c",
        "include/linux/compiler-version.h",
        "include/linux/kconfig.h",
        "include/generated/autoconf.h",  # generated in the object tree: kept as it is
        "include/linux/mm.h",
        "arch/arm64/include/asm/pgtable.h",
    }


def test_an_object_never_built_has_no_dependencies(tmp_path: Path) -> None:
    assert object_dependencies(tmp_path / "out", tmp_path, "mm/hugetlb.o") is None
