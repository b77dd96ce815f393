"""The architecture table (reviewtool/kbuild/arches.toml) and how users' names resolve in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewtool.errors import ExitCode, InputError
from reviewtool.kbuild.arches import Arch, arches, resolve_arch

SHIPPED = arches()
# The kernel's arch/ directories (ARCH=...) as of 6.1.
KERNEL_ARCHES = {
    "alpha", "arc", "arm", "arm64", "csky", "hexagon", "ia64", "loongarch", "m68k",
    "microblaze", "mips", "nios2", "openrisc", "parisc", "powerpc", "riscv", "s390", "sh",
    "sparc", "um", "x86", "xtensa",
}  # fmt: skip


def test_the_shipped_table_has_the_architectures_the_series_touch() -> None:
    assert {"arm64", "x86_64", "powerpc", "s390", "mips", "sparc", "sh", "parisc"} <= set(SHIPPED)
    assert all(name == arch.name for name, arch in SHIPPED.items())


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_architecture_can_be_configured_and_cross_compiled(name: str) -> None:
    arch = SHIPPED[name]
    assert arch.arch in KERNEL_ARCHES
    assert arch.defconfig.endswith("defconfig")
    assert arch.cross_compile, "no compiler prefix to try"
    # Prefixes are what CROSS_COMPILE takes: empty (the host compiler) or `triplet-`.
    assert all(p == "" or (p.endswith("-") and p.count("-") >= 2) for p in arch.cross_compile)
    # The Debian package named is the one that provides the first prefix's gcc.
    first = arch.cross_compile[0]
    if arch.debian and first:
        assert arch.debian == f"gcc-{first[:-1]}"


def test_names_and_aliases_are_unambiguous() -> None:
    spelled = [n for arch in SHIPPED.values() for n in (arch.name, *arch.aliases)]
    assert len(spelled) == len(set(spelled))


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("arm64", "arm64"),
        ("aarch64", "arm64"),
        ("x86", "x86_64"),  # the ARCH value
        ("amd64", "x86_64"),
        ("ppc64le", "powerpc"),
        ("s390x", "s390"),
        ("hppa", "parisc"),
        ("armhf", "arm"),
    ],
)
def test_resolve_by_name_alias_or_arch(typed: str, name: str) -> None:
    assert resolve_arch(typed, SHIPPED).name == name


def test_every_spelling_resolves_to_its_own_architecture() -> None:
    for arch in SHIPPED.values():
        for typed in (arch.name, arch.arch, *arch.aliases):
            assert resolve_arch(typed, SHIPPED) == arch


@pytest.mark.parametrize("typed", ["vax", "ARM64", "", "arm64 "])
def test_an_unknown_architecture_is_an_input_error(typed: str) -> None:
    with pytest.raises(InputError) as raised:
        resolve_arch(typed, SHIPPED)
    error = raised.value
    assert error.exit_code == ExitCode.INPUT
    assert error.message.startswith(f"--arch {typed}: unknown architecture (known: ")
    assert "arm64, arm," not in error.message and "arm, arm64" in error.message  # sorted


def test_a_table_given_by_path_and_its_defaults(tmp_path: Path) -> None:
    table = tmp_path / "arches.toml"
    table.write_text(
        '[arm64]\ncross_compile = ["aarch64-linux-gnu-"]\naliases = ["aarch64"]\n\n'
        '[x86_64]\narch = "x86"\ndefconfig = "x86_64_defconfig"\nclang = true\n'
    )
    loaded = arches(str(table))
    assert loaded == {
        "arm64": Arch(
            "arm64", "arm64", ("aarch64-linux-gnu-",), "defconfig", ("aarch64",), False, ""
        ),
        "x86_64": Arch("x86_64", "x86", (), "x86_64_defconfig", (), True, ""),
    }
    assert resolve_arch("x86", loaded).name == "x86_64"
    with pytest.raises(InputError, match=r"known: arm64, x86_64\)"):
        resolve_arch("s390", loaded)
