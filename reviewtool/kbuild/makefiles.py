"""What Makefiles and Kbuild's own records say: the Kconfig symbol that guards an object
(`obj-$(CONFIG_X) += name.o`), and the files a built object depends on (`.name.o.cmd`)."""

from __future__ import annotations

import re
from pathlib import Path

_LIST_LINE = re.compile(r"^\s*([\w.-]+?)-(y|objs|\$\(CONFIG_(\w+)\))\s*[+:]?=\s*(.*)$")


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
