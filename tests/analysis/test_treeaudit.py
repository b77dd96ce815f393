"""Root causes across tree states: new, changed or pre-existing."""

from __future__ import annotations

from reviewtool.analysis.callsites import Coverage, StateAudit
from reviewtool.analysis.treeaudit import cause_history
from reviewtool.analysis.verdicts import CallSite, Cause


def cause(ident: str, digest: str) -> Cause:
    site = CallSite(ident, "mm/x.c", 1, 1, "f", "swap_free", "entry", (), "unhandled", "")
    return Cause(ident, "unhandled", site, (), "`*ptep` in f()", digest)


def state(*causes: Cause) -> StateAudit:
    return StateAudit(frozenset(), (), Coverage(0, 0), 0, causes)


def test_cause_history() -> None:
    states = [
        state(cause("old", "a"), cause("touched", "a")),  # the base
        state(cause("old", "a"), cause("touched", "b"), cause("window", "a")),  # patch 1
        state(cause("old", "a"), cause("touched", "b"), cause("late", "a")),  # patch 2
        state(cause("old", "a"), cause("touched", "c"), cause("late", "a")),  # patch 3
    ]
    history = {s.cause.id: (s.status, s.patch) for s in cause_history([0, 1, 2, 3], states)}
    assert history == {
        "old": ("preexisting", None),
        "touched": ("changed", 1),  # the first patch that changed it while it stayed
        "late": ("new", 2),
    }  # "window" was made by 1 and resolved by 2: not a cause of the final state
