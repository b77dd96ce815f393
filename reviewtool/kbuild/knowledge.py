"""What Kbuild knows about a tree: architectures, the Kconfig symbol that guards an object, the
symbols it depends on, the dependency files of a built object, and compiler diagnostics."""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from reviewtool.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_OBJ_LINE = re.compile(r"^\s*obj-(y|\$\(CONFIG_(\w+)\))\s*[+:]?=\s*(.*)$")
# Any Kbuild list: `mmu-$(CONFIG_MMU) := memory.o`, `proc-y += task_mmu.o`, `x-objs := a.o`.
_LIST_LINE = re.compile(r"^\s*([\w.-]+?)-(y|objs|\$\(CONFIG_(\w+)\))\s*[+:]?=\s*(.*)$")
_DIAGNOSTIC = re.compile(
    r"^(?P<path>[^:\s][^:]*):(?P<line>\d+):(?:(?P<column>\d+):)?\s*"
    r"(?P<severity>warning|error|fatal error|note):\s*(?P<message>.*?)"
    r"(?:\s+\[(?P<flag>-W[^\]]+|-Werror[^\]]*)\])?\s*$"
)
_IN_FUNCTION = re.compile(r"^(?P<path>[^:]+): In function [‘'`](?P<name>[^’'`]+)[’'`]:")
_QUOTED = re.compile(r"[‘'`][^’'`]*[’'`]")


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


def guard_symbol(tree: Path, object_path: str) -> str | None:
    """The CONFIG symbol of `obj-$(CONFIG_X) += name.o` in the object's Makefile; '' for
    `obj-y`, None when the Makefile does not list the object."""
    directory, name = object_path.rsplit("/", 1) if "/" in object_path else ("", object_path)
    makefile = tree / directory / "Makefile"
    if not makefile.is_file():
        makefile = tree / directory / "Kbuild"
    try:
        text = makefile.read_text(encoding="utf-8", errors="replace").replace("\\\n", " ")
    except OSError:
        return None
    lists = [m for line in text.splitlines() if (m := _LIST_LINE.match(line))]
    return _guard(name, lists, depth=0)


def _guard(name: str, lists: list[re.Match[str]], depth: int) -> str | None:
    """The symbol a list member depends on: its own `$(CONFIG_X)`, else that of the list
    or composite object it belongs to (`mmu-$(CONFIG_MMU)` in `obj-y`, `hugetlbfs-objs`
    behind `obj-$(CONFIG_HUGETLBFS) += hugetlbfs.o`)."""
    if depth > 4:
        return None
    for match in lists:
        variable, _, symbol, members = match.groups()
        if name not in members.split():
            continue
        if variable == "obj":
            return symbol or ""
        if symbol:
            return symbol
        container = _guard(f"{variable}.o", lists, depth + 1)
        if container is None:  # a list spliced into obj-y as $(var-y)
            container = _guard(f"$({variable}-y)", lists, depth + 1)
        if container is not None:
            return container
    return None


def kconfig_dependencies(tree: Path, symbol: str, arch: str) -> list[str]:
    """Symbols to enable so that `symbol` can be: its plain `depends on A && B` and its
    `def_bool X` source, recursively (a first-order reading of Kconfig, enough for
    `HUGETLB_PAGE` <- `HUGETLBFS`)."""
    blocks = _kconfig_blocks(tree, arch)
    order: list[str] = []

    def visit(name: str, depth: int) -> None:
        if name in order or depth > 6:
            return
        for needed in blocks.get(name, ()):
            visit(needed, depth + 1)
        order.append(name)

    visit(symbol, 0)
    return order


@functools.lru_cache(maxsize=16)
def _kconfig_blocks(tree: Path, arch: str) -> dict[str, tuple[str, ...]]:
    blocks: dict[str, list[str]] = {}
    files = [
        *(tree / "arch" / arch).glob("Kconfig*"),
        *tree.glob("*/Kconfig"),
        *tree.glob("mm/Kconfig*"),
        *tree.glob("fs/Kconfig*"),
    ]
    for file in files:
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        current: str | None = None
        for line in lines:
            stripped = line.strip()
            if stripped.startswith(("config ", "menuconfig ")):
                current = stripped.split()[1]
                blocks.setdefault(current, [])
            elif current and stripped.startswith(("depends on ", "def_bool ")):
                expression = (
                    stripped.split(None, 2)[-1]
                    if stripped.startswith("depends")
                    else (stripped.split(None, 1)[1])
                )
                if "||" not in expression and "!" not in expression:
                    blocks[current] += re.findall(r"\b[A-Z][A-Z0-9_]+\b", expression)
            elif stripped and not line.startswith((" ", "\t")):
                current = None
    return {k: tuple(v) for k, v in blocks.items()}


def object_dependencies(objtree: Path, srctree: Path, object_path: str) -> set[str] | None:
    """Source-relative files an object was built from, per Kbuild's `.name.o.cmd`; None when
    the object was never built."""
    directory, name = object_path.rsplit("/", 1) if "/" in object_path else ("", object_path)
    cmd = objtree / directory / f".{name}.cmd"
    try:
        text = cmd.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    prefix = str(srctree.resolve()) + "/"
    deps: set[str] = set()
    inside = False
    for line in text.splitlines():
        if line.startswith(("source_", "deps_")):
            inside = line.startswith("deps_")
            value = line.split(":=", 1)[1].strip().rstrip("\\").strip()
            if value:
                deps.add(value)
            continue
        if inside:
            value = line.strip().rstrip("\\").strip()
            if not value:
                inside = False
                continue
            deps.add(value)
    result = set()
    for dep in deps:
        if dep.startswith("$(wildcard"):
            continue
        result.add(dep[len(prefix) :] if dep.startswith(prefix) else dep)
    return result


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    column: int
    severity: str  # error | warning
    flag: str
    message: str
    function: str = ""

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What makes two diagnostics the same one across patches: not the line number."""
        message = _QUOTED.sub("'…'", self.message) if self.severity == "note" else self.message
        message = re.sub(r"\b\d+\b", "N", message)
        return (self.path, self.function, self.flag, f"{self.severity}: {message}")


def parse_diagnostics(output: str, srctree: Path) -> list[Diagnostic]:
    """gcc/clang diagnostics (warnings and errors) from build output, paths made tree-relative."""
    prefix = str(srctree.resolve()) + "/"
    function = ""
    found: list[Diagnostic] = []
    for raw in output.splitlines():
        line = raw.rstrip()
        if match := _IN_FUNCTION.match(line):
            function = match.group("name")
            continue
        if line.endswith(": At top level:"):
            function = ""
            continue
        match = _DIAGNOSTIC.match(line)
        if not match:
            continue
        severity = match.group("severity")
        if severity == "note":
            continue
        path = match.group("path").removeprefix(prefix).removeprefix("./")
        found.append(
            Diagnostic(
                path=path,
                line=int(match.group("line")),
                column=int(match.group("column") or 0),
                severity="error" if "error" in severity else "warning",
                flag=match.group("flag") or "",
                message=match.group("message").strip(),
                function=function,
            )
        )
    return found
