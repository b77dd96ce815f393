"""The path-sensitive case analysis of one function, driven as the call-site audit drives it:
small C functions parsed with the project's tree-sitter layer, checked against the shipped
contract rules (the RFC's uffd-wp special swap pte, and the pte marker)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from reviewtool.analysis.csource import parse_file
from reviewtool.analysis.dataflow import FunctionAnalysis
from reviewtool.analysis.returns import Kind
from reviewtool.analysis.rules import ContractRule, load_rule
from reviewtool.analysis.sites import Requirement, SiteRecord
from reviewtool.analysis.typeinfo import CType, StructLookup
from reviewtool.analysis.values import Event, Root

UFFD_WP = load_rule("uffd-wp-special-swap-pte")
PTE_MARKER = load_rule("pte-marker")
SPECIAL = frozenset({"special"})
ENTRIES = frozenset({"swap", "migration", "hwpoison", "device"})  # is_swap_pte() && !special
VM_FAULT = {"orig_pte": CType("pte_t"), "pte": CType("pte_t", 1), "pmd": CType("pmd_t", 1)}


def analyse(
    source: str,
    rule: ContractRule = UFFD_WP,
    live: frozenset[str] | None = None,
    summaries: Mapping[str, tuple[Requirement, ...]] | None = None,
    structs: StructLookup | None = None,
) -> dict[str, FunctionAnalysis]:
    """Every function of a small file, analysed the way callsites.Auditor analyses it."""
    parsed = parse_file("mm/x.c", source.encode())
    assert parsed.error_count == 0
    analyses = {}
    for function in parsed.functions:
        analysis = FunctionAnalysis(
            rule,
            rule.all_cases if live is None else live,
            summaries or {},
            function.name,
            "mm/x.c",
            function.node,
            structs,
        )
        body = function.node.child_by_field_name("body")
        assert body is not None
        analysis.run(body)
        analyses[function.name] = analysis
    return analyses


def one(
    source: str,
    rule: ContractRule = UFFD_WP,
    live: frozenset[str] | None = None,
    structs: StructLookup | None = None,
) -> FunctionAnalysis:
    (analysis,) = analyse(source, rule, live, structs=structs).values()
    return analysis


def site(analysis: FunctionAnalysis, api: str) -> SiteRecord:
    (found,) = [s for s in analysis.recorder.sites.values() if s.api == api]
    return found


GUARDED = """int guarded(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\tif (!pte_has_swap_entry(pte))
\t\treturn 0;
\treturn swp_type(pte_to_swp_entry(pte));
}
"""

UNGUARDED = """int unguarded(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\tif (!is_swap_pte(pte))
\t\treturn 0;
\treturn swp_type(pte_to_swp_entry(pte));
}
"""


def test_a_guarded_decoder_is_handled() -> None:
    decode = site(one(GUARDED), "pte_to_swp_entry")
    assert (decode.line, decode.column, decode.argument) == (7, 18, "pte")
    assert decode.cases == ENTRIES and not decode.violating
    assert decode.value is not None
    event = decode.value.exclusion("special")
    assert event == Event(5, "pte_has_swap_entry(pte)", "true", "guard")


def test_an_early_return_narrows_what_follows() -> None:
    analysis = one(UNGUARDED)
    test, decode = site(analysis, "is_swap_pte"), site(analysis, "pte_to_swp_entry")
    assert test.cases == UFFD_WP.all_cases  # before the test: every case
    # `if (!is_swap_pte(pte)) return 0;` leaves the swap-like cases, the special pte included.
    assert decode.cases == ENTRIES | SPECIAL
    assert decode.violating == SPECIAL
    assert decode.value is not None and decode.value.exclusion("none") is not None
    assert decode.violation is not None
    assert [(e.line, e.text, e.note) for e in decode.violation.trail] == [
        (3, "pte = ptep_get(ptep)", "pte gets ptep_get(ptep)"),
        (5, "is_swap_pte(pte)", "true"),
    ]


def test_the_root_of_a_pte_read_through_a_parameter() -> None:
    decode = site(one(UNGUARDED), "pte_to_swp_entry")
    # A read through the caller's pointer: the callers say whether it was already tested.
    assert decode.parameter_root == Root("load", "*ptep", 3, ((0, "ptep"),))


def test_a_case_that_does_not_exist_in_the_tree_is_no_violation() -> None:
    decode = site(one(UNGUARDED, live=UFFD_WP.all_cases - SPECIAL), "pte_to_swp_entry")
    assert decode.cases == ENTRIES and not decode.violating


@pytest.mark.parametrize(
    "condition",
    [
        "is_swap_pte(pte) && !is_swap_special_pte(pte)",
        "unlikely(pte_has_swap_entry(pte))",
        "!(pte_none(pte) || pte_present(pte) || pte_swp_uffd_wp_special(pte))",
        "!!pte_has_swap_entry(pte)",
    ],
)
def test_logical_operators_narrow_each_branch(condition: str) -> None:
    source = f"""int logic(pte_t *ptep)
{{
\tpte_t pte = ptep_get(ptep);

\tif ({condition})
\t\treturn swp_type(pte_to_swp_entry(pte));
\treturn 0;
}}
"""
    decode = site(one(source), "pte_to_swp_entry")
    assert decode.cases == ENTRIES and not decode.violating


def test_an_else_chain_that_misses_the_special_pte() -> None:
    source = """int chain(pte_t *ptep)
{
\tpte_t pte = *ptep;

\tif (pte_present(pte))
\t\treturn 1;
\telse if (pte_none(pte))
\t\treturn 2;
\telse
\t\treturn swp_type(pte_to_swp_entry(pte));
}
"""
    decode = site(one(source), "pte_to_swp_entry")
    assert decode.violating == SPECIAL
    assert decode.violation is not None
    assert [(e.text, e.note) for e in decode.violation.trail[1:]] == [
        ("pte_present(pte)", "false"),
        ("pte_none(pte)", "false"),
    ]


def test_ternary_arms_are_narrowed_by_their_condition() -> None:
    source = """int pick(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\treturn pte_has_swap_entry(pte) ? swp_type(pte_to_swp_entry(pte)) : 0;
}
"""
    assert not site(one(source), "pte_to_swp_entry").violating


def test_goto_and_loops() -> None:
    source = """int forward(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\tif (!pte_has_swap_entry(pte))
\t\tgoto out;
\treturn swp_type(pte_to_swp_entry(pte));
out:
\treturn 0;
}

void each(pte_t *ptep, int n)
{
\tint i;

\tfor (i = 0; i < n; i++, ptep++) {
\t\tpte_t pte = ptep_get(ptep);

\t\tif (!pte_has_swap_entry(pte))
\t\t\tcontinue;
\t\tswap_free(pte_to_swp_entry(pte));
\t}
}

void each_stale(pte_t *ptep, int n)
{
\tint i;

\tfor (i = 0; i < n; i++, ptep++) {
\t\tpte_t pte = ptep_get(ptep);

\t\tif (!is_swap_pte(pte))
\t\t\tcontinue;
\t\tswap_free(pte_to_swp_entry(pte));
\t}
}

int until(pte_t *ptep)
{
\tpte_t pte;

\tdo {
\t\tpte = ptep_get(ptep);
\t} while (!pte_has_swap_entry(pte));
\treturn swp_type(pte_to_swp_entry(pte));
}
"""
    analyses = analyse(source)
    violating = {name: site(a, "pte_to_swp_entry").violating for name, a in analyses.items()}
    assert violating == {"forward": set(), "each": set(), "each_stale": SPECIAL, "until": set()}
    # The loop advances ptep: what it reads there is no longer what the caller pointed at.
    assert site(analyses["each_stale"], "pte_to_swp_entry").parameter_root is None


def test_either_branch_of_an_ifdef_may_be_compiled() -> None:
    source = """int configured(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);
#ifdef CONFIG_USERFAULTFD
\tif (!pte_has_swap_entry(pte))
\t\treturn 0;
#else
\tif (!is_swap_pte(pte))
\t\treturn 0;
#endif
\treturn swp_type(pte_to_swp_entry(pte));
}
"""
    decode = site(one(source), "pte_to_swp_entry")
    assert decode.violating == SPECIAL
    assert decode.violation is not None
    assert decode.violation.trail[-1] == Event(8, "is_swap_pte(pte)", "true", "guard")


def test_where_the_value_comes_from_decides_its_cases() -> None:
    source = """int made(void)
{
\tpte_t pte = pte_swp_mkuffd_wp_special();

\treturn swp_type(pte_to_swp_entry(pte));
}

int encoded(swp_entry_t entry)
{
\tpte_t pte = swp_entry_to_pte(entry);

\treturn swp_type(pte_to_swp_entry(pte));
}

int of_a_pmd(pmd_t pmd)
{
\treturn swp_type(pte_to_swp_entry(pmd_pte(pmd)));
}

int given(pte_t pte)
{
\treturn swp_type(pte_to_swp_entry(pte));
}
"""
    analyses = analyse(source)
    made = site(analyses["made"], "pte_to_swp_entry")
    assert (made.cases, made.violating, made.parameter_root) == (SPECIAL, SPECIAL, None)
    encoded = site(analyses["encoded"], "pte_to_swp_entry")
    assert encoded.cases == ENTRIES and not encoded.violating
    of_a_pmd = site(analyses["of_a_pmd"], "pte_to_swp_entry")
    assert of_a_pmd.value is not None and of_a_pmd.value.untracked == "pmd_pte()"
    assert not of_a_pmd.violating
    given = site(analyses["given"], "pte_to_swp_entry")
    assert given.violating == SPECIAL
    assert given.parameter_root == Root("parameter", "pte", 22, ((0, "pte"),))


def test_struct_members_reached_through_a_parameter() -> None:
    source = """int fault(struct vm_fault *vmf)
{
\treturn swp_type(pte_to_swp_entry(vmf->orig_pte));
}
"""
    known = site(
        one(source, structs=lambda name: VM_FAULT if name == "vm_fault" else None),
        "pte_to_swp_entry",
    )
    assert known.key == "vmf->orig_pte" and known.violating == SPECIAL
    assert known.parameter_root == Root("parameter", "vmf->orig_pte", 3, ((0, "vmf"),))
    # Without the struct's definition the member's type is unknown: no case is assumed.
    unknown = site(one(source), "pte_to_swp_entry")
    assert unknown.value is not None and "type is unknown" in unknown.value.untracked
    assert not unknown.violating


def test_a_write_through_the_pointer_ends_what_the_guard_proved() -> None:
    source = """int rewritten(struct mm_struct *mm, unsigned long addr, pte_t *ptep, pte_t *other)
{
\tif (!pte_has_swap_entry(*ptep) || !pte_has_swap_entry(*other))
\t\treturn 0;
\tset_pte_at(mm, addr, ptep, pte_swp_mkuffd_wp_special());
\treturn swp_type(pte_to_swp_entry(*ptep)) + swp_type(pte_to_swp_entry(*other));
}
"""
    analysis = one(source)
    decodes = sorted(
        (s for s in analysis.recorder.sites.values() if s.api == "pte_to_swp_entry"),
        key=lambda s: s.column,
    )
    assert [(s.argument, s.violating) for s in decodes] == [
        ("*ptep", SPECIAL),
        ("*other", frozenset()),  # written through another pointer only
    ]


def test_a_pointer_advanced_by_the_function_is_its_own_read() -> None:
    source = """int advanced(pte_t *ptep)
{
\tptep++;
\treturn swp_type(pte_to_swp_entry(*ptep));
}
"""
    decode = site(one(source), "pte_to_swp_entry")
    assert decode.violating == SPECIAL and decode.parameter_root is None


@pytest.mark.parametrize("loop", ["while (n--)", "for (i = 0; i < n; i++)"])
def test_what_a_loop_body_assigns_reaches_the_code_after_the_loop(loop: str) -> None:
    source = f"""int overwritten(pte_t *ptep, int n)
{{
\tpte_t pte = ptep_get(ptep);
\tint i;

\tif (!pte_has_swap_entry(pte))
\t\treturn 0;
\t{loop}
\t\tpte = pte_swp_mkuffd_wp_special();
\treturn swp_type(pte_to_swp_entry(pte));
}}
"""
    assert site(one(source), "pte_to_swp_entry").violating == SPECIAL


@pytest.mark.parametrize(
    "statement",
    [
        "if (n)\n\t\tpte = pte_swp_mkuffd_wp_special();",
        "do {\n\t\tpte = pte_swp_mkuffd_wp_special();\n\t} while (n--);",
        "while (n--) {\n\t\tif (n == 3)\n\t\t\tpte = pte_swp_mkuffd_wp_special();\n\t}",
    ],
    ids=["if", "do-while", "while-if"],
)
def test_an_assignment_that_may_run_reaches_what_follows(statement: str) -> None:
    source = f"""int overwritten(pte_t *ptep, int n)
{{
\tpte_t pte = ptep_get(ptep);

\tif (!pte_has_swap_entry(pte))
\t\treturn 0;
\t{statement}
\treturn swp_type(pte_to_swp_entry(pte));
}}
"""
    assert site(one(source), "pte_to_swp_entry").violating == SPECIAL


def test_a_pointer_advanced_in_a_loop_is_its_own_read() -> None:
    source = """int advanced(pte_t *ptep, int n)
{
\twhile (n--)
\t\tptep++;
\treturn swp_type(pte_to_swp_entry(*ptep));
}
"""
    decode = site(one(source), "pte_to_swp_entry")
    assert decode.violating == SPECIAL and decode.parameter_root is None


MARKER_WALK = """void zap(pte_t *ptep, int type)
{
\tpte_t pte = ptep_get(ptep);
\tswp_entry_t entry;
\tstruct swap_info_struct *si;

\tif (!is_swap_pte(pte))
\t\treturn;
\tentry = pte_to_swp_entry(pte);
\tsi = swp_swap_info(entry);
\tif ({test})
\t\treturn;
\tswap_free(entry);
}
"""


@pytest.mark.parametrize(
    ("test", "violating", "reason"),
    [
        ("non_swap_entry(entry)", frozenset(), "guard"),
        ("swp_type(entry) != type", frozenset(), "guard"),
        ("!si", frozenset(), "callee-result"),
        ("is_migration_entry(entry)", frozenset({"marker"}), ""),
    ],
)
def test_tests_of_the_derived_entry_narrow_the_pte(
    test: str, violating: frozenset[str], reason: str
) -> None:
    analysis = one(MARKER_WALK.replace("{test}", test), rule=PTE_MARKER)
    free = site(analysis, "swap_free")
    assert free.key == "pte"  # the entry stands for the pte it was decoded from
    assert free.violating == violating
    assert free.value is not None
    event = free.value.exclusion("marker")
    assert (event.kind if event is not None else "") == reason
    if event is not None:
        assert event.line == 11


def test_a_call_of_a_summarised_function_is_checked_like_a_use() -> None:
    source = """int checked(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\tif (!pte_has_swap_entry(pte))
\t\treturn 0;
\treturn helper(pte);
}

int stale(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\tif (!is_swap_pte(pte))
\t\treturn 0;
\treturn helper(pte);
}
"""
    decodes = Requirement(
        "helper",
        ((0, "pte"),),
        "pte",
        SPECIAL,
        Event(3, "pte", "pte_to_swp_entry"),
        "pte_to_swp_entry",
        "mm/helper.c",
    )
    analyses = analyse(source, summaries={"helper": (decodes,)})
    checked, stale = (site(analyses[n], "helper") for n in ("checked", "stale"))
    assert checked.requirement == decodes and not checked.violating
    assert checked.outcomes["pte"].value is not None
    assert checked.outcomes["pte"].value.cases == ENTRIES
    assert stale.violating == SPECIAL and stale.outcomes["pte"].violating == SPECIAL
    assert stale.parameter_root == Root("load", "*ptep", 12, ((0, "ptep"),))


def test_returns_say_what_the_result_means_for_the_arguments() -> None:
    returns = {kinds: cases["*ptep"] for kinds, cases in one(GUARDED).returns}
    assert returns == {
        frozenset({Kind("const", "0")}): frozenset({"none", "present"}) | SPECIAL,
        frozenset({Kind("any", "")}): ENTRIES,
    }
