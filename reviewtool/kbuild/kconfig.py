"""Which architectures can enable a Kconfig symbol, and what a preprocessor condition needs.

Read from the tree's own Kconfig files (those of `arch/` and of the core directories that
define the memory-management and architecture options; not `drivers/`). A symbol can be
enabled on an architecture when one of its definitions that architecture reads (a generic
`Kconfig` or one under `arch/<arch>/`) has its `depends on` satisfiable there and either a
prompt, a `default`/`def_bool` that can be y, or a `select` from a symbol that can itself be
enabled there. `!X` is taken as satisfiable (an option can be off); a symbol no file read
defines is taken as possible (nothing known against it).

A contract case that exists only with a symbol (`config = "PTE_MARKER_UFFD_WP"` in a rule)
cannot reach code of another architecture, or code under `#ifdef`/`#if` conditions that cannot
hold together with that symbol: such sites are latent, and the blocking symbol is named
("would be unhandled once arm64 selects HAVE_ARCH_USERFAULTFD_WP").
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Where the options that matter to the audit are defined: the architectures' own Kconfig
# files and the core ones. (drivers/, sound/, net/ ... define device options that the audit
# never needs; reading them would only cost time.)
KCONFIG_DIRS = ("arch", "init", "mm", "kernel", "lib", "fs", "security", "block", "usr")


def is_kconfig(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    if not name.startswith("Kconfig"):
        return False
    top = path.split("/", 1)[0] if "/" in path else ""
    if top == "fs":
        return path.count("/") == 1  # fs/Kconfig*, not each filesystem's
    return top in KCONFIG_DIRS or top == ""


@dataclass
class _Entry:
    name: str
    path: str
    depends: list[str] = field(default_factory=list)
    prompt: bool = False
    defaults: list[tuple[str, str]] = field(default_factory=list)  # (value, condition)
    selects: list[tuple[str, str]] = field(default_factory=list)  # (symbol, condition)

    @property
    def arch(self) -> str:
        parts = self.path.split("/")
        return parts[1] if len(parts) > 2 and parts[0] == "arch" else ""


_TOKEN = re.compile(r"\s*(&&|\|\||!=|[!()=<>]|\"[^\"]*\"|'[^']*'|[A-Za-z0-9_]+)")


class Kconfig:
    """The symbols of the Kconfig files given (path -> text)."""

    def __init__(self, files: Mapping[str, str], entries: Iterable[_Entry] = ()) -> None:
        self.entries: dict[str, list[_Entry]] = {}
        self.arches = sorted(
            {p.split("/")[1] for p in files if p.startswith("arch/") and p.count("/") >= 2}
        )
        parsed = [e for path, text in sorted(files.items()) for e in _parse(path, text)]
        for entry in [*parsed, *entries]:
            self.entries.setdefault(entry.name, []).append(entry)
        self.selectors: dict[str, list[tuple[_Entry, str]]] = {}
        for defined in self.entries.values():
            for entry in defined:
                for symbol, condition in entry.selects:
                    self.selectors.setdefault(symbol, []).append((entry, condition))
        self._can: dict[tuple[str, str], bool] = {}

    # -- kept between runs -------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the parsed symbols (not the files) where `load` reads them back."""
        data = {
            "arches": self.arches,
            "entries": [
                [e.name, e.path, e.depends, e.prompt, e.defaults, e.selects]
                for entries in self.entries.values()
                for e in entries
            ],
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(data), encoding="utf-8")
            os.replace(temporary, path)
        except OSError:
            pass  # a cache: the next run parses the files again

    @classmethod
    def load(cls, path: Path) -> Kconfig | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = [
                _Entry(
                    name,
                    where,
                    list(depends),
                    bool(prompt),
                    [tuple(d) for d in defaults],
                    [tuple(s) for s in selects],
                )
                for name, where, depends, prompt, defaults, selects in data["entries"]
            ]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        model = cls({}, entries)
        model.arches = [str(a) for a in data["arches"]]
        return model

    # -- can a symbol be y? -----------------------------------------------------------------

    def known(self, symbol: str) -> bool:
        return symbol in self.entries

    def _definitions(self, symbol: str, arch: str) -> list[_Entry]:
        return [e for e in self.entries.get(symbol, ()) if e.arch in ("", arch)]

    def can_enable(self, symbol: str, arch: str) -> bool:
        if symbol in ("y", "m"):
            return True
        if symbol == "n":
            return False
        if not self.known(symbol):
            return True
        memo = (symbol, arch)
        if memo in self._can:
            return self._can[memo]
        self._can[memo] = False  # a cycle proves nothing
        result = any(self._definition_enabled(e, arch) for e in self._definitions(symbol, arch))
        self._can[memo] = result
        return result

    def _definition_enabled(self, entry: _Entry, arch: str) -> bool:
        if not all(self.satisfiable(expr, arch) for expr in entry.depends):
            return False
        if entry.prompt:
            return True
        for value, condition in entry.defaults:
            if value != "n" and self.satisfiable(value, arch) and self.satisfiable(condition, arch):
                return True
        return any(
            self.satisfiable(condition, arch) and self.can_enable(selector.name, arch)
            for selector, condition in self.selectors.get(entry.name, ())
            if selector.arch in ("", arch)
        )

    def satisfiable(self, expression: str, arch: str) -> bool:
        if not expression.strip():
            return True
        return True in self._values(expression, lambda s: self._literal(s, arch))

    def _literal(self, symbol: str, arch: str) -> frozenset[bool]:
        possible = {False}
        if self.can_enable(symbol, arch):
            possible.add(True)
        return frozenset(possible)

    def _values(
        self, expression: str, literal: Callable[[str], frozenset[bool]]
    ) -> frozenset[bool]:
        tokens = [m.group(1) for m in _TOKEN.finditer(expression)]
        parser = _Parser(tokens, literal)
        return parser.parse()

    def enabling(self, symbol: str) -> frozenset[str]:
        """The architectures that can enable the symbol."""
        return frozenset(a for a in self.arches if self.can_enable(symbol, a))

    def blocker(self, symbol: str, arch: str, depth: int = 0) -> str:
        """The symbol that keeps `symbol` off on this architecture: a dependency nothing on
        the architecture enables, or a select-only symbol nothing there selects."""
        if depth > 8:
            return symbol
        for entry in self._definitions(symbol, arch):
            for expression in entry.depends:
                if self.satisfiable(expression, arch):
                    continue
                for name in re.findall(r"[A-Z0-9_]+", expression):
                    if self.known(name) and not self.can_enable(name, arch):
                        return self.blocker(name, arch, depth + 1)
        return symbol

    def select_only(self, symbol: str) -> bool:
        """A symbol without a prompt or default, which only a `select` turns on."""
        return all(not e.prompt and not e.defaults for e in self.entries.get(symbol, ()))

    def implied(self, symbol: str) -> frozenset[str]:
        """Symbols that are y whenever `symbol` is: its plain `depends on A && B` and its
        unconditional selects, recursively."""
        seen: set[str] = set()
        stack = [symbol]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            for entry in self.entries.get(name, ()):
                for expression in entry.depends:
                    if "||" in expression or "!" in expression:
                        continue
                    stack += re.findall(r"[A-Z][A-Z0-9_]*", expression)
                stack += [s for s, condition in entry.selects if not condition]
        return frozenset(seen)

    # -- preprocessor conditions ------------------------------------------------------------

    def condition_holds(self, condition: str, arch: str, required: Iterable[str] = ()) -> bool:
        """Whether a C preprocessor condition can be true on this architecture together with
        the required symbols (which are y)."""
        forced = set(required)

        def literal(name: str) -> frozenset[bool]:
            if not name.startswith("CONFIG_"):
                return frozenset({True, False})
            symbol = name.removeprefix("CONFIG_")
            if symbol.endswith("_MODULE"):
                return frozenset({True, False})
            possible: set[bool] = set()
            if self.can_enable(symbol, arch):
                possible.add(True)
            if symbol not in forced:
                possible.add(False)
            return frozenset(possible)

        text = re.sub(
            r"\b(?:defined|IS_ENABLED|IS_BUILTIN|IS_REACHABLE)\s*\(\s*(\w+)\s*\)", r"\1", condition
        )
        text = re.sub(r"\bdefined\s+(\w+)", r"\1", text)
        return (
            True
            in _Parser([m.group(1) for m in _TOKEN.finditer(text)], literal, c_syntax=True).parse()
        )


class _Parser:
    """Possible truth values of a Kconfig or preprocessor expression (literals may be both)."""

    def __init__(
        self,
        tokens: list[str],
        literal: Callable[[str], frozenset[bool]],
        c_syntax: bool = False,
    ) -> None:
        self.tokens = tokens
        self.position = 0
        self.literal = literal
        self.c_syntax = c_syntax

    def parse(self) -> frozenset[bool]:
        try:
            result = self._or()
        except IndexError:
            return frozenset({True, False})
        return result if self.position >= len(self.tokens) else frozenset({True, False})

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _or(self) -> frozenset[bool]:
        left = self._and()
        while self._peek() == "||":
            self.position += 1
            right = self._and()
            left = frozenset(a or b for a in left for b in right)
        return left

    def _and(self) -> frozenset[bool]:
        left = self._not()
        while self._peek() == "&&":
            self.position += 1
            right = self._not()
            left = frozenset(a and b for a in left for b in right)
        return left

    def _not(self) -> frozenset[bool]:
        if self._peek() == "!":
            self.position += 1
            return frozenset(not v for v in self._not())
        return self._comparison()

    def _comparison(self) -> frozenset[bool]:
        left = self._atom()
        operator = self._peek()
        if operator in ("=", "!=", "<", ">", "<=", ">="):
            self.position += 1
            self._atom()
            return frozenset({True, False})
        return left

    def _atom(self) -> frozenset[bool]:
        token = self.tokens[self.position]
        self.position += 1
        if token == "(":
            inner = self._or()
            if self._peek() == ")":
                self.position += 1
            return inner
        if token.startswith(("'", '"')):
            return frozenset({True, False})
        if re.fullmatch(r"\d+", token):
            return frozenset({int(token) != 0})
        if not self.c_syntax and token in ("y", "m"):
            return frozenset({True})
        if not self.c_syntax and token == "n":
            return frozenset({False})
        if re.fullmatch(r"[A-Za-z_]\w*", token):
            return self.literal(token)
        return frozenset({True, False})


def _parse(path: str, text: str) -> list[_Entry]:
    entries: list[_Entry] = []
    blocks: list[tuple[str, list[str]]] = []  # ("if"|"menu"|"choice", their dependencies)
    current: _Entry | None = None
    header: list[str] | None = None  # a menu/choice whose `depends on` lines come next
    help_indent: int | None = None
    lines = text.replace("\\\n", " ").splitlines()
    for raw in lines:
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        if help_indent is not None:
            if not stripped or indent > help_indent:
                continue
            help_indent = None
        if not stripped or stripped.startswith("#"):
            continue
        word, _, rest = stripped.replace("\t", " ").partition(" ")
        rest = re.sub(r"\s+if\s+", " if ", rest)
        rest = rest.split("#", 1)[0].strip() if "#" in rest and '"' not in rest else rest.strip()
        if word in ("config", "menuconfig"):
            current = _Entry(rest.split()[0] if rest else "", path)
            current.depends = [d for _, deps in blocks for d in deps]
            entries.append(current)
            header = None
        elif word in ("menu", "choice"):
            blocks.append((word, []))
            header, current = blocks[-1][1], None
        elif word == "if":
            blocks.append(("if", [rest]))
            current = header = None
        elif word in ("endif", "endmenu", "endchoice"):
            if blocks:
                blocks.pop()
            current = header = None
        elif word in ("source", "comment", "mainmenu", "rsource", "osource", "orsource"):
            current = header = None
        elif word in ("help", "---help---"):
            help_indent = indent
        elif word == "depends" and rest.startswith("on "):
            expression = rest[3:].strip()
            if current is not None:
                current.depends.append(expression)
            elif header is not None:
                header.append(expression)
        elif current is None:
            continue
        elif word in ("bool", "tristate", "string", "int", "hex", "prompt"):
            if rest.startswith(('"', "'")):
                current.prompt = True  # a prompt under a condition is a prompt too
        elif word in ("def_bool", "def_tristate", "default"):
            value, _, condition = rest.partition(" if ")
            current.defaults.append((value.strip(), condition.strip()))
        elif word == "select":
            symbol, _, condition = rest.partition(" if ")
            current.selects.append((symbol.strip(), condition.strip()))
    return entries


# -- first-order dependencies of a symbol, for enabling it in a build -------------------------


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
