"""The abstract domain of the case analysis: a value's cases with their witness trail and root,
and the state of a path (values, derivations, result links, page-table slots, constants,
copies), joined where paths meet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reviewtool.analysis.returns import Kind, ResultSummary


@dataclass(frozen=True)
class Event:
    """A step of a witness path: a guard taken, a copy, a call. `kind` says what kind of
    reason a narrowing rests on: `guard` (a predicate or comparison on the value) or
    `callee-result` (a test of a callee's result)."""

    line: int
    text: str
    note: str
    kind: str = ""


@dataclass(frozen=True)
class Root:
    """Where a value's cases come from. `load`: a read of the tracked type through a pointer
    (the tracked object itself); `parameter`: what the callers pass. `parameters` names the
    parameters the key is made of, (index, name); it is empty when the value does not depend on
    what the callers pass."""

    kind: str
    key: str
    line: int
    parameters: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Value:
    cases: frozenset[str]
    trail: tuple[Event, ...] = ()
    excluded: tuple[tuple[str, Event], ...] = ()
    origin: str | None = None  # the key this value was read from (None: constructed)
    untracked: str = ""  # why the value carries no case (set for values of no case)
    root: Root | None = None

    @property
    def tracked(self) -> bool:
        return not self.untracked

    def exclusion(self, case: str) -> Event | None:
        return next((event for name, event in self.excluded if name == case), None)


def untracked(why: str) -> Value:
    return Value(frozenset(), untracked=why)


@dataclass(frozen=True)
class Link:
    """A variable holding a call's result: what tests of it say about the call's arguments."""

    summary: ResultSummary
    keys: tuple[tuple[str, str], ...]  # the summary's key -> the caller's key


@dataclass
class Flow:
    values: dict[str, Value] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    slots: dict[str, str] = field(default_factory=dict)  # pointer -> the slot it points at
    consts: dict[str, frozenset[Kind]] = field(default_factory=dict)
    killed: frozenset[str] = frozenset()  # written on some path: entry values are gone
    # a location -> the local holding the copy last read from it, while neither is written:
    # what a callee re-reading the location sees is what that copy was narrowed to
    copies: dict[str, str] = field(default_factory=dict)

    def copy(self) -> Flow:
        return Flow(
            dict(self.values),
            dict(self.derived),
            dict(self.links),
            dict(self.slots),
            dict(self.consts),
            self.killed,
            dict(self.copies),
        )


Fill = Callable[[str, "Flow"], "Value"]


def join(
    a: Flow | None,
    b: Flow | None,
    new: frozenset[str] = frozenset(),
    fill: Fill | None = None,
) -> Flow | None:
    """Merge two paths. A value one path has read and the other has not is, on the other
    path, what reading it there gives (`fill`): a parameter's value, a fresh load, or none."""
    if a is None:
        return None if b is None else b.copy()
    if b is None:
        return a.copy()
    a, b = _materialize(a, b), _materialize(b, a)
    values: dict[str, Value] = {}
    for key in a.values.keys() & b.values.keys():
        values[key] = join_values(a.values[key], b.values[key], new)
    if fill is not None:
        for key in a.values.keys() ^ b.values.keys():
            one, other = (a, b) if key in a.values else (b, a)
            if key in other.derived:
                continue
            values[key] = join_values(one.values[key], fill(key, other), new)
    derived = {k: v for k, v in a.derived.items() if b.derived.get(k) == v}
    links = {k: v for k, v in a.links.items() if b.links.get(k) == v}
    slots = {k: v for k, v in a.slots.items() if b.slots.get(k) == v}
    consts = {k: v | b.consts[k] for k, v in a.consts.items() if k in b.consts}
    copies = {k: v for k, v in a.copies.items() if b.copies.get(k) == v}
    return Flow(values, derived, links, slots, consts, a.killed | b.killed, copies)


def _materialize(flow: Flow, other: Flow) -> Flow:
    """Turn links the other flow does not share into values, so that the join keeps them."""
    unshared = {k: s for k, s in flow.derived.items() if other.derived.get(k) != s}
    if not unshared:
        return flow
    result = flow.copy()
    for key, source in unshared.items():
        if source in result.values:
            result.values[key] = result.values[source]
        del result.derived[key]
    return result


def join_values(a: Value, b: Value, new: frozenset[str] = frozenset()) -> Value:
    if a == b:
        return a
    if not a.tracked or not b.tracked:
        # A value that may come from a tracked read on one path is tracked.
        return b if a.untracked else a
    cases = a.cases | b.cases
    # Keep the witness of a path that carries a new case: that is the path a finding shows.
    a_new, b_new = bool(a.cases & new), bool(b.cases & new)
    if a_new != b_new:
        trail, root = (a.trail, a.root) if a_new else (b.trail, b.root)
    else:
        trail = a.trail if len(a.trail) >= len(b.trail) else b.trail
        root = a.root if a.root == b.root else _join_roots(a.root, b.root)
    # Why a case neither path carries is absent: either path's witness (a's first).
    reasons: dict[str, Event] = {}
    for case, event in (*a.excluded, *b.excluded):
        if case not in cases:
            reasons.setdefault(case, event)
    excluded = tuple(reasons.items())
    origin = a.origin if a.origin == b.origin else None
    return Value(cases, trail, excluded, origin, root=root)


def _join_roots(a: Root | None, b: Root | None) -> Root | None:
    """Two roots for one value, one kept as its witness: a load that does not depend on the
    callers, then a load through a parameter pointer (the callee's own read unless a caller has
    read that location), then a value the callers pass; the earlier one on a tie."""
    if a is None or b is None:
        return a or b

    def rank(root: Root) -> tuple[int, int, str]:
        order = 0 if not root.parameters else 1 if root.kind == "load" else 2
        return (order, root.line, root.key)

    return min(a, b, key=rank)


def same(a: Flow | None, b: Flow | None) -> bool:
    if a is None or b is None:
        return a is b
    return (
        a.values == b.values
        and a.derived == b.derived
        and a.links == b.links
        and a.slots == b.slots
        and a.consts == b.consts
        and a.copies == b.copies
        and a.killed == b.killed
    )
