"""The Kconfig model: which architectures can enable a symbol, and preprocessor conditions."""

from __future__ import annotations

from reviewtool.kbuild.kconfig import Kconfig, is_kconfig

FILES = {
    "mm/Kconfig": """
config HAVE_ARCH_USERFAULTFD_WP
\tbool
\thelp
\t  Arch has userfaultfd write protection support
\t  (a help text may say "config FOO" or "depends on BAR": it is not Kconfig)

config PTE_MARKER
\tbool

config PTE_MARKER_UFFD_WP
\tbool "Userfaultfd write protection support for shmem/hugetlbfs"
\tdefault y
\tdepends on HAVE_ARCH_USERFAULTFD_WP
\tselect PTE_MARKER

config ZONE_DEVICE
\tbool "Device memory"
\tdepends on MEMORY_HOTPLUG && ARCH_HAS_PTE_DEVMAP

config ARCH_HAS_PTE_DEVMAP
\tbool

if MMU
config SWAP
\tbool "Support for paging of anonymous memory (swap)"
endif

menu "Memory hotplug"
\tdepends on SPARSEMEM

config MEMORY_HOTPLUG
\tbool "Allow for memory hot-add"
endmenu
""",
    "init/Kconfig": "config MMU\n\tdef_bool y\n\nconfig SPARSEMEM\n\tdef_bool y\n",
    "arch/x86/Kconfig": """
config X86
\tdef_bool y
\tselect HAVE_ARCH_USERFAULTFD_WP\t\tif X86_64 && USERFAULTFD
\tselect ARCH_HAS_PTE_DEVMAP\t\tif X86_64

config X86_64
\tdef_bool y
""",
    "arch/arm64/Kconfig": 'config ARM64\n\tdef_bool y\n\nconfig ARM64_MTE\n\tbool "MTE"\n',
    "arch/s390/Kconfig": "config S390\n\tdef_bool y\n",
}


def model() -> Kconfig:
    return Kconfig(FILES)


def test_select_only_symbols_follow_their_selectors() -> None:
    kconfig = model()
    assert kconfig.arches == ["arm64", "s390", "x86"]
    # selected under a condition with tabs before `if`; USERFAULTFD is defined nowhere here
    assert kconfig.enabling("HAVE_ARCH_USERFAULTFD_WP") == {"x86"}
    assert kconfig.enabling("PTE_MARKER_UFFD_WP") == {"x86"}
    assert kconfig.enabling("ARM64_MTE") == {"arm64"}
    assert kconfig.enabling("ZONE_DEVICE") == {"x86"}
    assert kconfig.select_only("HAVE_ARCH_USERFAULTFD_WP")
    assert not kconfig.select_only("PTE_MARKER_UFFD_WP")


def test_if_and_menu_blocks_add_their_dependencies() -> None:
    kconfig = model()
    swap = kconfig.entries["SWAP"][0]
    assert swap.depends == ["MMU"]
    assert kconfig.entries["MEMORY_HOTPLUG"][0].depends == ["SPARSEMEM"]
    assert "config FOO" not in str(kconfig.entries)  # help texts are skipped


def test_blocker_names_the_symbol_an_architecture_lacks() -> None:
    kconfig = model()
    assert kconfig.blocker("PTE_MARKER_UFFD_WP", "arm64") == "HAVE_ARCH_USERFAULTFD_WP"
    assert kconfig.blocker("ZONE_DEVICE", "s390") == "ARCH_HAS_PTE_DEVMAP"


def test_implied_symbols() -> None:
    implied = model().implied("PTE_MARKER_UFFD_WP")
    assert implied == {"PTE_MARKER_UFFD_WP", "HAVE_ARCH_USERFAULTFD_WP", "PTE_MARKER"}


def test_preprocessor_conditions_with_a_required_symbol() -> None:
    kconfig = model()
    implied = kconfig.implied("PTE_MARKER_UFFD_WP")

    def holds(condition: str) -> bool:
        return kconfig.condition_holds(condition, "x86", implied)

    assert not holds("defined(CONFIG_ARM64_MTE)")
    assert not holds("!defined(CONFIG_PTE_MARKER)")
    assert not holds("IS_ENABLED(CONFIG_ARM64_MTE) && defined(CONFIG_SWAP)")
    assert holds("defined(CONFIG_SWAP)")
    assert holds("defined CONFIG_SWAP || defined(CONFIG_ARM64_MTE)")
    assert holds("defined(_LINUX_MM_H)")  # not an option: may hold
    assert holds("CONFIG_NOT_IN_THESE_FILES")  # unknown: nothing against it
    assert not holds("0")
    assert holds("(CONFIG_PGTABLE_LEVELS > 2)")


def test_which_files_are_read() -> None:
    assert is_kconfig("Kconfig") and is_kconfig("mm/Kconfig") and is_kconfig("arch/x86/Kconfig")
    assert is_kconfig("arch/x86/Kconfig.cpu") and is_kconfig("fs/Kconfig.binfmt")
    assert not is_kconfig("drivers/gpu/Kconfig") and not is_kconfig("fs/ext4/Kconfig")
    assert not is_kconfig("mm/Makefile")
