"""The abstract domain of the case analysis: values with their witness and root, and the join
of two paths' states where they meet."""

from __future__ import annotations

import dataclasses

import pytest

from reviewtool.analysis.returns import Kind
from reviewtool.analysis.values import (
    Event,
    Flow,
    Root,
    Value,
    join,
    join_values,
    same,
    untracked,
)

SPECIAL = frozenset({"special"})
LOAD = Event(3, "pte = ptep_get(ptep)", "pte gets ptep_get(ptep)")
IS_SWAP = Event(4, "is_swap_pte(pte)", "true", "guard")
HAS_ENTRY = Event(4, "pte_has_swap_entry(pte)", "true", "guard")
PTEP = Root("load", "*ptep", 3, ((0, "ptep"),))


def value(*cases: str, trail: tuple[Event, ...] = (), root: Root | None = PTEP) -> Value:
    return Value(frozenset(cases), trail, origin="*ptep", root=root)


def test_records_are_frozen_and_hashable() -> None:
    tracked = value("swap", trail=(LOAD,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        tracked.cases = frozenset()  # type: ignore[misc]
    assert len({tracked, value("swap", trail=(LOAD,)), LOAD, PTEP}) == 3


def test_an_untracked_value_has_no_case_and_says_why() -> None:
    why = untracked("pmd_pte()")
    assert (why.cases, why.tracked, why.untracked) == (frozenset(), False, "pmd_pte()")
    # A value of no case that was read from a tracked location is still tracked.
    assert Value(frozenset()).tracked


def test_exclusion_names_the_event_that_removed_a_case() -> None:
    narrowed = Value(frozenset({"swap"}), excluded=(("none", IS_SWAP), ("special", HAS_ENTRY)))
    assert narrowed.exclusion("special") is HAS_ENTRY
    assert narrowed.exclusion("none") is IS_SWAP
    assert narrowed.exclusion("swap") is None


def test_join_values_of_equal_values_is_that_value() -> None:
    one = value("swap", trail=(LOAD,))
    assert join_values(one, value("swap", trail=(LOAD,))) is one


def test_join_values_unites_the_cases() -> None:
    joined = join_values(value("swap"), value("migration", "special"))
    assert joined.cases == {"swap", "migration", "special"}
    assert joined.tracked and joined.origin == "*ptep"


@pytest.mark.parametrize("tracked_first", [True, False])
def test_a_value_that_may_come_from_a_tracked_read_is_tracked(tracked_first: bool) -> None:
    tracked, other = value("swap", "special"), untracked("swp_entry()")
    pair = (tracked, other) if tracked_first else (other, tracked)
    assert join_values(*pair) is tracked


def test_join_values_keeps_the_witness_of_the_path_with_a_new_case() -> None:
    short_new = value("special", trail=(LOAD,))
    long_old = value("swap", trail=(LOAD, IS_SWAP, HAS_ENTRY))
    assert join_values(short_new, long_old, SPECIAL).trail == (LOAD,)
    assert join_values(long_old, short_new, SPECIAL).trail == (LOAD,)
    # Without a new case on either side, the longer trail is kept.
    assert join_values(short_new, long_old).trail == (LOAD, IS_SWAP, HAS_ENTRY)


def test_join_values_drops_an_exclusion_when_the_case_comes_back() -> None:
    narrowed = Value(frozenset({"swap"}), excluded=(("special", HAS_ENTRY),), root=PTEP)
    assert join_values(narrowed, value("swap", "special")).exclusion("special") is None
    assert join_values(narrowed, value("swap")).exclusion("special") is HAS_ENTRY


def test_join_values_forgets_an_origin_the_paths_do_not_share() -> None:
    other = dataclasses.replace(value("swap"), origin="vmf->orig_pte")
    assert join_values(value("special"), other).origin is None


def test_join_values_prefers_a_root_that_does_not_depend_on_the_callers() -> None:
    own = Root("load", "*pte", 9)  # a pointer the function computed itself
    through_parameter = Root("load", "*ptep", 3, ((0, "ptep"),))
    passed = Root("parameter", "pte", 2, ((0, "pte"),))
    assert join_values(value("swap", root=through_parameter), value("x", root=own)).root == own
    assert join_values(value("swap", root=passed), value("x", root=through_parameter)).root == (
        through_parameter
    )
    # On a tie, the earlier line.
    later = dataclasses.replace(passed, line=7)
    assert join_values(value("swap", root=later), value("x", root=passed)).root == passed
    assert join_values(value("swap", root=None), value("x", root=passed)).root == passed


def test_join_values_keeps_an_exclusion_from_either_side() -> None:
    constructed = Value(frozenset({"swap"}))  # swp_entry_to_pte(): never special
    guarded = Value(frozenset({"swap"}), excluded=(("special", HAS_ENTRY),), root=PTEP)
    assert join_values(guarded, constructed).exclusion("special") is HAS_ENTRY
    assert join_values(constructed, guarded).exclusion("special") is HAS_ENTRY


def test_join_of_no_path_and_a_path_is_a_copy_of_that_path() -> None:
    flow = Flow(values={"pte": value("swap")}, killed=frozenset({"ptep"}))
    assert join(None, None) is None
    for joined in (join(flow, None), join(None, flow)):
        assert joined is not None and joined is not flow and same(joined, flow)
        joined.values["entry"] = value("swap")
        assert "entry" not in flow.values


def test_join_merges_the_values_both_paths_hold() -> None:
    a = Flow(values={"pte": value("swap"), "only_a": value("none")})
    b = Flow(values={"pte": value("special")})
    joined = join(a, b, SPECIAL)
    assert joined is not None
    assert joined.values["pte"].cases == {"swap", "special"}
    # Without a way to read it on the other path, a value one path holds is dropped.
    assert "only_a" not in joined.values


def test_join_fills_a_value_read_on_one_path_only() -> None:
    asked: list[tuple[str, Flow]] = []

    def fill(key: str, flow: Flow) -> Value:
        asked.append((key, flow))
        return value("none", "present")

    a = Flow(values={"*ptep": value("swap")})
    b = Flow()
    joined = join(a, b, SPECIAL, fill)
    assert joined is not None
    assert joined.values["*ptep"].cases == {"swap", "none", "present"}
    assert [key for key, _ in asked] == ["*ptep"]
    assert asked[0][1].values == {}  # asked of the path that has not read it


def test_a_derivation_one_path_has_alone_becomes_a_value_of_its_own() -> None:
    a = Flow(values={"entry": value("swap")})
    b = Flow(values={"pte": value("special")}, derived={"entry": "pte"})
    joined = join(a, b, SPECIAL, lambda key, flow: value("none"))
    assert joined is not None
    # b's derivation is not shared, so it became a value of its own: b's pte.
    assert joined.values["entry"].cases == {"swap", "special"}
    assert joined.derived == {}


def test_join_keeps_only_what_both_paths_agree_on() -> None:
    a = Flow(
        derived={"entry": "pte", "e2": "pte"},
        slots={"pte": "@pte(pmd,addr)", "p2": "@pte(pmd,next)"},
        consts={"ret": frozenset({Kind("const", "0")}), "only_a": frozenset()},
        killed=frozenset({"ptep"}),
        copies={"*ptep": "pte"},
    )
    b = Flow(
        derived={"entry": "pte", "e2": "other"},
        slots={"pte": "@pte(pmd,addr)"},
        consts={"ret": frozenset({Kind("const", "1")})},
        killed=frozenset({"addr"}),
        copies={"*ptep": "orig"},
    )
    joined = join(a, b)
    assert joined is not None
    assert joined.derived == {"entry": "pte"}
    assert joined.slots == {"pte": "@pte(pmd,addr)"}
    assert joined.consts == {"ret": frozenset({Kind("const", "0"), Kind("const", "1")})}
    assert joined.killed == {"ptep", "addr"}  # written on some path
    assert joined.copies == {}


def test_copy_is_independent_of_the_original() -> None:
    flow = Flow(values={"pte": value("swap")}, derived={"entry": "pte"})
    copied = flow.copy()
    copied.values["pte"] = value("special")
    copied.derived.clear()
    assert flow.values["pte"].cases == {"swap"} and flow.derived == {"entry": "pte"}


def test_same() -> None:
    flow = Flow(values={"pte": value("swap")}, slots={"ptep": "@pte(pmd,addr)"})
    assert same(None, None)
    assert not same(flow, None) and not same(None, flow)
    assert same(flow, flow.copy())
    other = flow.copy()
    other.values["pte"] = value("swap", "special")
    assert not same(flow, other)
    other = flow.copy()
    other.slots.clear()
    assert not same(flow, other)
    # A path that wrote a variable is another state, even with the same values.
    other = flow.copy()
    other.killed = frozenset({"ptep"})
    assert not same(flow, other)
