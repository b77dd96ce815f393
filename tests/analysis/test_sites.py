"""Recording what a function's calls see: uses of watched and forbidden APIs, calls of
summarised functions, and the substitution of a callee's keys into the caller's."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from reviewtool.analysis.csource import parse_file
from reviewtool.analysis.csyntax import call_arguments, callee_name, node_text
from reviewtool.analysis.rules import Forbidden, load_rule
from reviewtool.analysis.sites import (
    Outcome,
    Requirement,
    SiteRecord,
    SiteRecorder,
    normalize_key,
    substitute,
)
from reviewtool.analysis.values import Event, Flow, Root, Value, untracked

if TYPE_CHECKING:
    import tree_sitter

RULE = load_rule("uffd-wp-special-swap-pte")
EVERY = RULE.all_cases
SPECIAL = frozenset({"special"})
PTEP = Root("load", "*ptep", 3, ((0, "ptep"),))
OWN = Root("load", "*pte", 3)  # read through a pointer the function computed itself
DECODE = Event(12, "pte", "pte_to_swp_entry")


class Reader:
    """The analysis as the recorder sees it: identifiers are keys, their values in the flow."""

    def __init__(self, values: dict[str, Value] | None = None) -> None:
        self.values = values or {}

    def tested_key(self, argument: tree_sitter.Node, flow: Flow) -> str | None:
        return node_text(argument) if argument.type == "identifier" else None

    def lookup(self, key: str, flow: Flow, line: int = 0) -> Value:
        return flow.values.get(key) or untracked(f"`{key}`")

    def value(self, node: tree_sitter.Node, flow: Flow) -> Value | None:
        return self.values.get(node_text(node))

    def holder(self, location: str, flow: Flow) -> str:
        return flow.copies.get(location, location)

    def canonical(self, key: str, flow: Flow) -> str:
        return key


def call_nodes(body: str) -> list[tree_sitter.Node]:
    """The calls of a small function body, in source order."""
    parsed = parse_file("mm/x.c", f"void f(void)\n{{\n{body}\n}}\n".encode())
    assert parsed.error_count == 0
    found = []
    stack = [parsed.tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "call_expression":
            found.append(node)
        stack.extend(node.children)
    return sorted(found, key=lambda n: n.start_byte)


def use(recorder: SiteRecorder, call: tree_sitter.Node, flow: Flow) -> None:
    name = callee_name(call)
    assert name is not None
    recorder.use(call, name, call_arguments(call), flow)


def requirement(kind: str = "parameter", path: str = "pte") -> Requirement:
    name = "ptep" if kind == "load" else "pte"
    return Requirement(
        "helper", ((0, name),), path, SPECIAL, DECODE, "pte_to_swp_entry", "mm/h.c", kind
    )


def test_requirement_names_its_first_parameter() -> None:
    wanted = Requirement(
        "f", ((1, "vmf"), (2, "addr")), "*@pte(vmf->pmd,addr)", SPECIAL, DECODE, "x", "mm/f.c"
    )
    assert (wanted.parameter, wanted.parameter_name, wanted.kind) == (1, "vmf", "parameter")


def test_a_summarised_call_is_fresh_only_when_every_outcome_is() -> None:
    site = SiteRecord(0, 1, 1, "helper", "ptep", "ptep")
    assert not site.fresh  # no outcome at all
    site.outcomes["*ptep"] = Outcome(None, frozenset(), True, None)
    assert site.fresh
    site.outcomes["vmf->orig_pte"] = Outcome(Value(SPECIAL), SPECIAL, False, None)
    assert not site.fresh


def test_a_forbidden_use_of_a_new_case_is_a_violation() -> None:
    (call,) = call_nodes("\tpte_to_swp_entry(pte);")
    seen = Value(frozenset({"swap", "special"}), root=PTEP)
    recorder = SiteRecorder(RULE, EVERY, Reader())
    use(recorder, call, Flow(values={"pte": seen}))
    (site,) = recorder.sites.values()
    assert (site.byte, site.line, site.column) == (call.start_byte, 3, 2)
    assert (site.api, site.argument, site.key) == ("pte_to_swp_entry", "pte", "pte")
    assert site.cases == {"swap", "special"} and site.value == seen
    assert site.violating == SPECIAL and site.violation == seen
    # The value is read through a parameter: the callers decide whether the case is real.
    assert site.parameter_root == PTEP


def test_a_violation_of_the_function_s_own_read_has_no_parameter_root() -> None:
    (call,) = call_nodes("\tpte_to_swp_entry(pte);")
    recorder = SiteRecorder(RULE, EVERY, Reader())
    use(recorder, call, Flow(values={"pte": Value(SPECIAL, root=OWN)}))
    (site,) = recorder.sites.values()
    assert site.violating == SPECIAL and site.parameter_root is None


@pytest.mark.parametrize(
    ("live", "seen"),
    [
        (EVERY - SPECIAL, Value(frozenset({"swap", "special"}), root=PTEP)),  # no such case here
        (EVERY, Value(frozenset({"swap", "migration"}), root=PTEP)),  # guarded away
        (EVERY, untracked("swp_entry()")),  # a value of no case
    ],
    ids=["case-not-live", "case-excluded", "untracked"],
)
def test_no_violation_without_a_live_new_case(live: frozenset[str], seen: Value) -> None:
    (call,) = call_nodes("\tpte_to_swp_entry(pte);")
    recorder = SiteRecorder(RULE, live, Reader())
    use(recorder, call, Flow(values={"pte": seen}))
    (site,) = recorder.sites.values()
    assert site.value == seen and not site.violating and site.violation is None


def test_a_watched_test_records_the_value_without_a_violation() -> None:
    (call,) = call_nodes("\tis_swap_pte(pte);")
    recorder = SiteRecorder(RULE, EVERY, Reader())
    use(recorder, call, Flow(values={"pte": Value(EVERY, root=PTEP)}))
    (site,) = recorder.sites.values()
    assert site.cases == EVERY and not site.violating


def test_an_argument_with_no_key_is_valued_by_the_reader() -> None:
    made_call, _constructor, empty_call = call_nodes(
        "\tpte_to_swp_entry(pte_swp_mkuffd_wp_special());\n\tpte_to_swp_entry();"
    )
    made = Value(SPECIAL)
    recorder = SiteRecorder(RULE, EVERY, Reader({"pte_swp_mkuffd_wp_special()": made}))
    use(recorder, made_call, Flow())
    use(recorder, empty_call, Flow())
    constructed, empty = sorted(recorder.sites.values(), key=lambda s: s.line)
    assert constructed.key is None and constructed.violating == SPECIAL
    assert constructed.parameter_root is None  # made here: no caller can change it
    assert empty.value == untracked("no argument") and empty.argument == ""


def test_the_argument_a_use_is_about_comes_from_the_rule() -> None:
    rule = dataclasses.replace(
        RULE,
        forbidden={**RULE.forbidden, "install": Forbidden(1, SPECIAL, "second argument")},
    )
    (call,) = call_nodes("\tinstall(ptep, pte);")
    recorder = SiteRecorder(rule, EVERY, Reader())
    use(recorder, call, Flow(values={"ptep": untracked("a pointer"), "pte": Value(SPECIAL)}))
    (site,) = recorder.sites.values()
    assert (site.argument, site.violating) == ("pte", SPECIAL)


def test_every_path_through_a_call_is_one_site() -> None:
    first, second = call_nodes("\tpte_to_swp_entry(pte);\n\tpte_to_swp_entry(pte);")
    recorder = SiteRecorder(RULE, EVERY, Reader())
    guarded = Value(frozenset({"swap"}), root=PTEP)
    special = Value(SPECIAL, trail=(Event(2, "is_swap_pte(pte)", "true", "guard"),), root=PTEP)
    use(recorder, first, Flow(values={"pte": guarded}))
    use(recorder, first, Flow(values={"pte": special}))
    use(recorder, second, Flow(values={"pte": guarded}))
    assert len(recorder.sites) == 2
    joined = recorder.sites[first.start_byte]
    assert joined.cases == {"swap", "special"} and joined.violating == SPECIAL
    assert joined.value is not None and joined.value.trail == special.trail
    assert not recorder.sites[second.start_byte].violating


def test_a_summarised_call_passes_its_argument_for_the_requirement() -> None:
    first, second = call_nodes("\thelper(pte);\n\thelper(pte);")
    recorder = SiteRecorder(RULE, EVERY, Reader())
    wanted = (requirement(),)
    bad = Value(frozenset({"swap", "special"}), root=PTEP)
    recorder.call(first, "helper", call_arguments(first), wanted, Flow(values={"pte": bad}))
    ok = Value(frozenset({"swap"}), root=PTEP)
    recorder.call(second, "helper", call_arguments(second), wanted, Flow(values={"pte": ok}))
    violating, clean = recorder.sites[first.start_byte], recorder.sites[second.start_byte]
    assert violating.requirement == wanted[0] and violating.key == "pte"
    outcome = violating.outcomes["pte"]
    assert (outcome.value, outcome.violating, outcome.fresh) == (bad, SPECIAL, False)
    assert outcome.parameter_root == PTEP and violating.violating == SPECIAL
    assert clean.outcomes["pte"].violating == frozenset() and not clean.violating


def test_outcomes_of_one_call_on_several_paths_are_joined() -> None:
    (call,) = call_nodes("\thelper(pte);")
    recorder = SiteRecorder(RULE, EVERY, Reader())
    wanted = (requirement(),)
    for cases in ({"swap"}, {"special"}):
        flow = Flow(values={"pte": Value(frozenset(cases), root=PTEP)})
        recorder.call(call, "helper", call_arguments(call), wanted, flow)
    (site,) = recorder.sites.values()
    outcome = site.outcomes["pte"]
    assert outcome.value is not None and outcome.value.cases == {"swap", "special"}
    assert outcome.violating == SPECIAL and site.cases == {"swap", "special"}


def test_a_location_the_caller_has_not_read_is_the_callee_s_own_read() -> None:
    (call,) = call_nodes("\thelper(ptep);")
    recorder = SiteRecorder(RULE, EVERY, Reader())
    wanted = (requirement("load", "*ptep"),)
    recorder.call(call, "helper", call_arguments(call), wanted, Flow())
    (site,) = recorder.sites.values()
    assert site.outcomes["*ptep"] == Outcome(None, frozenset(), True, None)
    assert site.fresh and not site.violating
    # Once the caller has read (and not excluded) it, the callee sees the caller's value.
    read = Value(EVERY, root=Root("load", "*ptep", 2, ((0, "ptep"),)))
    recorder.call(call, "helper", call_arguments(call), wanted, Flow(values={"*ptep": read}))
    assert not site.fresh and site.outcomes["*ptep"].violating == SPECIAL


def test_a_copy_the_caller_narrowed_stands_for_the_location() -> None:
    (call,) = call_nodes("\thelper(ptep);")
    recorder = SiteRecorder(RULE, EVERY, Reader())
    narrowed = Value(frozenset({"swap"}), root=PTEP)
    flow = Flow(values={"*ptep": Value(EVERY, root=PTEP), "pte": narrowed}, copies={"*ptep": "pte"})
    recorder.call(call, "helper", call_arguments(call), (requirement("load", "*ptep"),), flow)
    (site,) = recorder.sites.values()
    assert site.outcomes["*ptep"].value == narrowed and not site.violating


@pytest.mark.parametrize(
    ("path", "bindings", "expected"),
    [
        ("*ptep", {"ptep": "pvmw->pte"}, "*pvmw->pte"),
        ("vmf->orig_pte", {"vmf": "&fault"}, "fault.orig_pte"),
        ("*ptep", {"ptep": "&pte"}, "pte"),
        ("*ptep", {"pte": "a", "ptep": "b"}, "*b"),  # the longer name first
        ("vmf->pte", {"vmf": "x", "pte": "y"}, "x->pte"),  # a member is not a parameter
        ("*@pte(pmd,addr)", {"pmd": "p", "addr": "next"}, "*@pte(p,next)"),
        ("cache->slots[i]", {"cache": "c"}, "c->slots[i]"),
    ],
)
def test_substitute(path: str, bindings: dict[str, str], expected: str) -> None:
    assert substitute(path, bindings) == expected


@pytest.mark.parametrize(
    ("path", "bindings"),
    [
        ("*@pte(pmd,addr)", {"pmd": "p"}),  # addr has no key at the caller
        ("*ptep", {}),
        ("2 + x", {"x": "y"}),  # not a key
    ],
)
def test_substitute_without_a_key(path: str, bindings: dict[str, str]) -> None:
    assert substitute(path, bindings) is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("*&pte", "pte"),
        ("&*ptep", "ptep"),
        ("&vmf->orig_pte", "vmf.orig_pte"),
        ("*&*&pte", "pte"),
        ("*ptep", "*ptep"),
        ("vmf->orig_pte", "vmf->orig_pte"),
        ("ptes[i]*&x", "ptes[i]*&x"),  # after an operand: not an address-of
    ],
)
def test_normalize_key(key: str, expected: str) -> None:
    assert normalize_key(key) == expected
