"""Recording what a function's calls see: the calls of watched and forbidden APIs, and of
functions with a summary (a parameter-rooted value of theirs reaches a forbidden use), with the
value each sees and the violations among them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from reviewtool.analysis.csource import names_pattern
from reviewtool.analysis.csyntax import line_of, node_text
from reviewtool.analysis.rules import ContractRule
from reviewtool.analysis.typeinfo import parse_key
from reviewtool.analysis.values import Event, Flow, Root, Value, join_values, untracked

if TYPE_CHECKING:
    import tree_sitter


@dataclass(frozen=True)
class Requirement:
    """A function's parameter-rooted value reaches a forbidden use: callers must exclude
    `cases` from what they pass for `path` (spelled with the callee's parameter names).
    `kind` is the root's: a `parameter` value is what callers pass; a `load` through a
    parameter pointer is the callee's own read unless a caller has already read (and
    narrowed) that same location."""

    function: str
    parameters: tuple[tuple[int, str], ...]
    path: str
    cases: frozenset[str]
    use: Event
    api: str
    file: str
    kind: str = "parameter"

    @property
    def parameter(self) -> int:
        return self.parameters[0][0]

    @property
    def parameter_name(self) -> str:
        return self.parameters[0][1]


@dataclass
class SiteRecord:
    """A call of a watched or forbidden API (or of a summarised function) seen in a function."""

    byte: int
    line: int
    column: int
    api: str
    argument: str
    key: str | None
    cases: frozenset[str] = frozenset()
    value: Value | None = None
    violation: Value | None = None
    violating: frozenset[str] = frozenset()
    requirement: Requirement | None = None  # set for calls of summarised functions
    parameter_root: Root | None = None  # the violation's root when it is parameter-rooted
    # calls of summarised functions: what this call passes for each requirement's path
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    @property
    def fresh(self) -> bool:
        """A summarised call whose callee reads every location itself (nothing passed on)."""
        return bool(self.outcomes) and all(o.fresh for o in self.outcomes.values())


@dataclass(frozen=True)
class Outcome:
    """What one call of a summarised function passes for one requirement's path: the value,
    the required-away cases it carries, and `fresh` when the caller has not read that
    location (the callee's own read is the load)."""

    value: Value | None
    violating: frozenset[str]
    fresh: bool
    parameter_root: Root | None


class Reader(Protocol):
    """What the recorder asks of the analysis: keys and values at a point of a path."""

    def tested_key(self, argument: tree_sitter.Node, flow: Flow) -> str | None: ...

    def lookup(self, key: str, flow: Flow, line: int = 0) -> Value: ...

    def value(self, node: tree_sitter.Node, flow: Flow) -> Value | None: ...

    def holder(self, location: str, flow: Flow) -> str: ...

    def canonical(self, key: str, flow: Flow) -> str: ...


class SiteRecorder:
    """The sites of one function, keyed by the byte offset of their call."""

    def __init__(self, rule: ContractRule, live: frozenset[str], reader: Reader) -> None:
        self.rule = rule
        self.live = live
        self.reader = reader
        self.sites: dict[int, SiteRecord] = {}

    def _site(
        self,
        node: tree_sitter.Node,
        name: str,
        argument: tree_sitter.Node | None,
        key: str | None,
        requirement: Requirement | None = None,
    ) -> SiteRecord:
        site = self.sites.get(node.start_byte)
        if site is None:
            site = SiteRecord(
                node.start_byte,
                line_of(node),
                node.start_point[1] + 1,
                name,
                node_text(argument) if argument is not None else "",
                key,
                requirement=requirement,
            )
            self.sites[node.start_byte] = site
        return site

    def _observe(self, site: SiteRecord, value: Value) -> None:
        site.cases |= value.cases
        site.value = (
            value if site.value is None else join_values(site.value, value, self.rule.new_cases)
        )

    def use(
        self, node: tree_sitter.Node, name: str, arguments: list[tree_sitter.Node], flow: Flow
    ) -> None:
        """A call of a watched or forbidden API: the value it sees, and the violation when a
        new case that the API must not see can reach it."""
        index = self._argument_index(name)
        argument = arguments[index] if index < len(arguments) else None
        key = self.reader.tested_key(argument, flow) if argument is not None else None
        if key is not None:
            value = self.reader.lookup(key, flow, line_of(node))
        else:
            value = (
                self.reader.value(argument, flow) if argument is not None else None
            ) or untracked(node_text(argument) or "no argument")
        site = self._site(node, name, argument, key)
        self._observe(site, value)
        forbidden = self.rule.forbidden.get(name)
        if forbidden is None or not value.tracked:
            return
        violating = value.cases & forbidden.cases & self.live & self.rule.new_cases
        if violating:
            self._violate(site, value, violating)

    def _violate(self, site: SiteRecord, value: Value, violating: frozenset[str]) -> None:
        site.violating |= violating
        if site.violation is None:
            site.violation = value
        root = value.root
        site.parameter_root = root if root is not None and root.parameters else None

    def _argument_index(self, name: str) -> int:
        if name in self.rule.forbidden:
            return self.rule.forbidden[name].argument
        if name in self.rule.predicates:
            return self.rule.predicates[name].argument
        return self.rule.derive.get(name, 0)

    def call(
        self,
        node: tree_sitter.Node,
        name: str,
        arguments: list[tree_sitter.Node],
        requirements: tuple[Requirement, ...],
        flow: Flow,
    ) -> None:
        """A call of a summarised function: for each of its requirements, what this call
        passes for the path it names."""
        site = self.sites.get(node.start_byte)
        for requirement in requirements:
            bindings: dict[str, str] = {}
            for index, parameter in requirement.parameters:
                if index < len(arguments):
                    argument_key = self.reader.tested_key(arguments[index], flow)
                    if argument_key is not None:
                        bindings[parameter] = argument_key
            shown = (
                arguments[requirement.parameter] if requirement.parameter < len(arguments) else None
            )
            key = substitute(requirement.path, bindings)
            value: Value | None
            if key is not None:
                key = self.reader.holder(self.reader.canonical(key, flow), flow)
                key = flow.derived.get(key, key)
                known = flow.values.get(key)
                # a location this caller has not read as the tracked type: the callee's read
                fresh = requirement.kind == "load" and (known is None or not known.tracked)
                value = None if fresh else self.reader.lookup(key, flow, line_of(node))
            elif requirement.kind == "load":
                fresh, value = True, None
            elif len(requirement.parameters) == 1 and shown is not None:
                fresh, value = False, self.reader.value(shown, flow) or untracked(node_text(shown))
            else:
                fresh, value = False, untracked(node_text(shown) if shown is not None else "?")
            if site is None:
                site = self._site(node, name, shown, key, requirement)
            outcome = site.outcomes.get(requirement.path)
            if value is None:
                if outcome is None:
                    site.outcomes[requirement.path] = Outcome(None, frozenset(), True, None)
                continue
            violating = (
                value.cases & requirement.cases & self.live if value.tracked else frozenset()
            )
            root = value.root if value.root is not None and value.root.parameters else None
            if outcome is None or outcome.fresh:
                outcome = Outcome(value, violating, False, root if violating else None)
            else:
                joined = (
                    join_values(outcome.value, value, self.rule.new_cases)
                    if outcome.value is not None
                    else value
                )
                outcome = Outcome(
                    joined,
                    outcome.violating | violating,
                    False,
                    outcome.parameter_root or (root if violating else None),
                )
            site.outcomes[requirement.path] = outcome
            self._observe(site, value)
            if violating:
                self._violate(site, value, violating)


def substitute(path: str, bindings: Mapping[str, str]) -> str | None:
    """A callee's key with its parameter names replaced by the caller's argument keys;
    None when a parameter the key is made of has no key at the caller."""
    parsed = parse_key(path)
    if parsed is None:
        return None
    names = set(parsed.root_names())
    if not names <= bindings.keys():
        return None
    # A parameter's name as a whole word, not a member (`->name`, `.name`) or a slot (`@name`).
    pattern = names_pattern(frozenset(names), rb"(?!\w)", rb"(?<![\w.>@])")
    text = pattern.sub(lambda match: b"\0" + match.group(1) + b"\0", path.encode())
    marked = text.decode()
    result = re.sub(r"\0(\w+)\0", lambda match: bindings[match.group(1)], marked)
    return normalize_key(result)


def normalize_key(key: str) -> str:
    """`&x->f` read as `x.f`... after a substitution: `*&x` is `x`, `&*x` is `x`,
    `&x->f` is `x.f`."""
    previous = None
    while previous != key:
        previous = key
        key = re.sub(r"(?<![\w)\]])\*&", "", key)
        key = re.sub(r"(?<![\w)\]])&\*", "", key)
        key = re.sub(r"&([A-Za-z_]\w*)->", r"\1.", key)
    return key
