"""The architectures reviewtool builds: ARCH, cross-compiler prefixes, defconfig, aliases
(reviewtool/kbuild/arches.toml, as tuxmake keeps its arch/*.ini)."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from reviewtool.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Arch:
    name: str
    arch: str
    cross_compile: tuple[str, ...]
    defconfig: str
    aliases: tuple[str, ...]
    clang: bool
    debian: str


@functools.cache
def arches(path: str = "") -> dict[str, Arch]:
    """The architecture table (reviewtool/kbuild/arches.toml, or a file given for tests)."""
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = resources.files("reviewtool.kbuild").joinpath("arches.toml").read_text("utf-8")
    table = tomllib.loads(text)
    return {
        name: Arch(
            name=name,
            arch=str(spec.get("arch", name)),
            cross_compile=tuple(spec.get("cross_compile", ())),
            defconfig=str(spec.get("defconfig", "defconfig")),
            aliases=tuple(spec.get("aliases", ())),
            clang=bool(spec.get("clang", False)),
            debian=str(spec.get("debian", "")),
        )
        for name, spec in table.items()
    }


def resolve_arch(name: str, table: dict[str, Arch]) -> Arch:
    for arch in table.values():
        if name == arch.name or name in arch.aliases or name == arch.arch:
            return arch
    known = ", ".join(sorted(table))
    raise InputError(f"--arch {name}: unknown architecture (known: {known})")
