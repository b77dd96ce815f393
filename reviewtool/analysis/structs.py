"""Struct members, found where the compiler finds them: in the file that uses a struct, then
through the headers it includes."""

from __future__ import annotations

import re
from collections.abc import Callable

from reviewtool.analysis.csource import (
    closing,
    mask_comments_and_strings,
    normalize,
)
from reviewtool.analysis.grammar import parser
from reviewtool.analysis.typeinfo import CType, struct_fields

_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]', re.MULTILINE)
HeaderReader = Callable[[str], "tuple[str, bytes] | None"]


class StructTable:
    """Struct members by name, found where the compiler finds them: in the file that uses the
    struct, then breadth first through the headers it includes (`<linux/mm.h>` is
    `include/linux/mm.h`, `<asm/...>` the architecture's or asm-generic's, `"x.h"` beside the
    file). Files are read through `read` and parsed only when they define the struct."""

    def __init__(
        self,
        read: HeaderReader,
        headers: dict[str, tuple[frozenset[str], tuple[tuple[str, str], ...]]] | None = None,
        limit: int = 400,
        known: dict[str, tuple[dict[str, CType], tuple[tuple[str, str], ...]]] | None = None,
    ) -> None:
        self.read = read
        self.headers = headers if headers is not None else {}  # blob -> (structs, includes)
        self.limit = limit
        self.found: dict[str, dict[str, CType] | None] = {}
        # name -> (members, the (path, blob) chain that led to them): reused from an earlier
        # tree state while every file of that chain is unchanged
        self.known = known if known is not None else {}
        self.resolved: dict[tuple[str, str, str, str], str | None] = {}
        self.definers: dict[str, str] = {}  # struct name -> a header seen to define it

    def lookup(self, name: str, path: str) -> dict[str, CType] | None:
        if name in self.found:
            return self.found[name]
        known = self.known.get(name)
        if known is not None and all(
            (found := self.read(p)) is not None and found[0] == blob for p, blob in known[1]
        ):
            self.found[name] = known[0]
            return known[0]
        definer = self.definers.get(name)
        if definer is not None and (found := self.read(definer)) is not None:
            # a header an earlier search passed through defines it: the one cpp finds
            fields = _definition_fields(found[1], name)
            if fields is not None:
                self.known[name] = (fields, ((definer, found[0]),))
                self.found[name] = fields
                return fields
        result = self._search(name, path)
        self.found[name] = result
        return result

    def _search(self, name: str, start: str) -> dict[str, CType] | None:
        arch = start.split("/")[1] if start.startswith("arch/") and start.count("/") > 1 else "x86"
        queue, seen = [start], {start}
        parents: dict[str, str] = {}
        while queue and len(seen) <= self.limit:
            path = queue.pop(0)
            found = self.read(path)
            if found is None:
                continue
            blob, content = found
            defines, includes = self._header(blob, content)
            for defined in defines:
                self.definers.setdefault(defined, path)
            if name in defines:
                fields = _definition_fields(content, name)
                if fields is not None:
                    chain = [path]
                    while chain[-1] in parents:
                        chain.append(parents[chain[-1]])
                    self.known[name] = (
                        fields,
                        tuple((p, b[0]) for p in chain if (b := self.read(p)) is not None),
                    )
                    return fields
            for quote, target in includes:
                included = self._resolve(path, quote, target, arch)
                if included is not None and included not in seen:
                    seen.add(included)
                    parents[included] = path
                    queue.append(included)
        return None

    def _resolve(self, path: str, quote: str, target: str, arch: str) -> str | None:
        """The first directory of the search path that has the header, as cpp does."""
        directory = path.rsplit("/", 1)[0] if quote == '"' and "/" in path else ""
        key = (directory if quote == '"' else "", quote, target, arch)
        if key not in self.resolved:
            self.resolved[key] = next(
                (
                    c
                    for c in _include_candidates(path, quote, target, arch)
                    if self.read(c) is not None
                ),
                None,
            )
        return self.resolved[key]

    def _header(
        self, blob: str, content: bytes
    ) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
        cached = self.headers.get(blob)
        if cached is None:
            # Unmasked: a definition inside a comment only costs a parse that finds nothing.
            defines = frozenset(m.group(1).decode() for m in _DEFINES.finditer(content))
            includes = tuple(
                (m.group(1).decode(), m.group(2).decode().strip())
                for m in _INCLUDE.finditer(content)
            )
            cached = self.headers[blob] = (defines, includes)
        return cached


def _definition_fields(content: bytes, name: str) -> dict[str, CType] | None:
    """The members of `struct name { ... }` in a file, parsing only the definition's text
    (a header such as include/linux/mm_types.h is large; its struct is not)."""
    pattern = re.compile(rb"\b(?:struct|union)\s+" + re.escape(name.encode()) + rb"\s*\{")
    for match in pattern.finditer(content):
        window = mask_comments_and_strings(content[match.start() : match.start() + 65536])
        end = closing(window, match.end() - match.start() - 1, b"{}")
        if end < 0:
            continue
        text = content[match.start() : match.start() + end] + b";"
        tree = parser().parse(normalize(text))
        fields = struct_fields(tree.root_node, name)
        if fields is not None:
            return fields
    return None


_DEFINES = re.compile(rb"\b(?:struct|union)\s+(\w+)\s*\{")


def _include_candidates(path: str, quote: str, target: str, arch: str) -> list[str]:
    candidates = []
    if quote == '"':
        directory = path.rsplit("/", 1)[0] if "/" in path else ""
        candidates.append(f"{directory}/{target}" if directory else target)
    candidates += [
        f"include/{target}",
        f"arch/{arch}/include/{target}",
        f"include/uapi/{target}",
        f"arch/{arch}/include/uapi/{target}",
    ]
    if target.startswith("asm/"):
        candidates.append(f"include/asm-generic/{target[4:]}")
    return [_normal(c) for c in candidates]


def _normal(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)
