"""Verdicts of the call-site audit: each site's verdict and reason, grounding of violations
that callers feed, configurations that cannot reach a site, root causes, and the ids and
excerpts the reports show. The functions are analysed for real (FunctionAnalysis) and judged
here without the Auditor's fixpoint."""

from __future__ import annotations

from collections.abc import Mapping

from reviewtool.analysis.csource import ParsedFile, parse_file
from reviewtool.analysis.dataflow import FunctionAnalysis
from reviewtool.analysis.rules import load_rule
from reviewtool.analysis.sites import Requirement, SiteRecord
from reviewtool.analysis.values import Event
from reviewtool.analysis.verdicts import (
    REASONS,
    CallSite,
    Cause,
    FunctionResult,
    Grounding,
    Origin,
    Verdicts,
    address_taken,
    plain_name,
    site_id,
    source_excerpt,
)
from reviewtool.findings import Location
from reviewtool.kbuild.kconfig import Kconfig

RULE = load_rule("uffd-wp-special-swap-pte")
SPECIAL = frozenset({"special"})
# Only x86 selects the symbol the special pte needs (as in v5.11).
KCONFIG = {
    "init/Kconfig": "config HAVE_ARCH_USERFAULTFD_WP\n\tbool\n",
    "arch/x86/Kconfig": "config X86\n\tdef_bool y\n\tselect HAVE_ARCH_USERFAULTFD_WP\n",
    "arch/s390/Kconfig": "config S390\n\tdef_bool y\n",
}

WALKS = """int stale(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\tif (!is_swap_pte(pte))
\t\treturn 0;
\treturn swp_type(pte_to_swp_entry(pte));
}

int fixed(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\tif (!pte_has_swap_entry(pte))
\t\treturn 0;
\treturn swp_type(pte_to_swp_entry(pte));
}

int made(void)
{
\treturn swp_type(pte_to_swp_entry(pte_swp_mkuffd_wp_special()));
}

int encoded(swp_entry_t entry)
{
\treturn swp_type(pte_to_swp_entry(swp_entry_to_pte(entry)));
}

int of_a_pmd(pmd_t pmd)
{
\treturn swp_type(pte_to_swp_entry(pmd_pte(pmd)));
}
"""

HELPER = """static int helper(pte_t pte)
{
\treturn swp_type(pte_to_swp_entry(pte));
}

int caller_ok(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\tif (!pte_has_swap_entry(pte))
\t\treturn 0;
\treturn helper(pte);
}

int caller_bad(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\tif (!is_swap_pte(pte))
\t\treturn 0;
\treturn helper(pte);
}
"""


def analyse(
    path: str,
    source: str,
    summaries: Mapping[str, tuple[Requirement, ...]] | None = None,
    live: frozenset[str] = RULE.all_cases,
) -> tuple[ParsedFile, dict[str, FunctionResult]]:
    parsed = parse_file(path, source.encode())
    results = {}
    for function in parsed.functions:
        analysis = FunctionAnalysis(RULE, live, summaries or {}, function.name, path, function.node)
        body = function.node.child_by_field_name("body")
        assert body is not None
        analysis.run(body)
        sites = list(analysis.recorder.sites.values())
        results[function.name] = FunctionResult(
            path, function.name, function.static, sites, f"digest-{function.name}"
        )
    return parsed, results


def judge(
    path: str, source: str, kconfig: Kconfig | None = None
) -> tuple[Verdicts, dict[tuple[str, str], CallSite]]:
    parsed, results = analyse(path, source)
    verdicts = Verdicts(RULE, RULE.all_cases, list(results.values()), {}, {path: parsed}, kconfig)
    return verdicts, {(s.function, s.api): s for s in verdicts.sites()}


def helper_requirement(helper: SiteRecord) -> Requirement:
    """What the Auditor makes of the helper's parameter-rooted violation."""
    root = helper.parameter_root
    assert root is not None
    use = Event(helper.line, helper.argument, helper.api)
    return Requirement(
        "helper", root.parameters, root.key, helper.violating, use, helper.api, "mm/h.c", root.kind
    )


def judge_helper() -> tuple[dict[str, FunctionResult], Requirement, ParsedFile]:
    parsed, first = analyse("mm/h.c", HELPER)
    (decode,) = first["helper"].sites
    wanted = helper_requirement(decode)
    _, results = analyse("mm/h.c", HELPER, {"helper": (wanted,)})
    return results, wanted, parsed


def test_verdicts_and_reasons_of_one_file() -> None:
    _, sites = judge("mm/walk.c", WALKS)
    judged = {key: (s.verdict, s.reason) for key, s in sites.items()}
    assert judged == {
        ("stale", "is_swap_pte"): ("unhandled", "guard"),
        ("stale", "pte_to_swp_entry"): ("unhandled", "guard"),
        ("fixed", "pte_to_swp_entry"): ("handled", "guard"),
        ("made", "pte_to_swp_entry"): ("unhandled", "origin"),
        ("encoded", "pte_to_swp_entry"): ("handled", "origin"),
        ("of_a_pmd", "pte_to_swp_entry"): ("handled", "origin"),
    }
    assert set(judged.values()) <= {(v, r) for v in ("handled", "unhandled") for r in REASONS}
    stale_test = sites[("stale", "is_swap_pte")]
    assert stale_test.how == "(b) passes this test and reaches pte_to_swp_entry() at line 7"
    fixed = sites[("fixed", "pte_to_swp_entry")]
    assert fixed.how == "(b) excluded by `pte_has_swap_entry(pte)` (true) at line 14"
    assert "pmd_pte()" in sites[("of_a_pmd", "pte_to_swp_entry")].how


def test_an_unhandled_site_shows_its_evidence_and_source() -> None:
    _, sites = judge("mm/walk.c", WALKS)
    decode = sites[("stale", "pte_to_swp_entry")]
    assert decode.evidence == (
        Location("mm/walk.c", 3, "pte gets ptep_get(ptep)"),
        Location("mm/walk.c", 5, "`is_swap_pte(pte)` is true"),
        Location("mm/walk.c", 7, "pte_to_swp_entry(pte) with (b)"),
    )
    assert [(e.line, e.note) for e in decode.excerpt] == [
        (5, "\tif (!is_swap_pte(pte))"),
        (6, "\t\treturn 0;"),
        (7, "\treturn swp_type(pte_to_swp_entry(pte));"),
        (8, "}"),
        (9, ""),
    ]
    assert decode.cases == ("a.1", "a.2", "b")  # report names of the groups that reach it
    assert sites[("fixed", "pte_to_swp_entry")].excerpt == ()  # handled: nothing to quote


def test_a_root_cause_groups_the_test_and_the_use_it_lets_through() -> None:
    verdicts, sites = judge("mm/walk.c", WALKS)
    causes = {c.root: c for c in verdicts.causes(tuple(sites.values()))}
    assert set(causes) == {
        "`*ptep` in stale() (mm/walk.c:3)",
        "`pte_swp_mkuffd_wp_special()` in made() (mm/walk.c:21)",
    }
    stale = causes["`*ptep` in stale() (mm/walk.c:3)"]
    test, decode = sites[("stale", "is_swap_pte")], sites[("stale", "pte_to_swp_entry")]
    # The test that lets the special pte through is the anchor; the decode a further use.
    assert (stale.anchor, stale.further, stale.verdict) == (test, (decode,), "unhandled")
    assert stale.sites == (test.id, decode.id)
    assert test.cause == decode.cause == stale.id
    assert sites[("fixed", "pte_to_swp_entry")].cause == ""


def test_a_site_only_another_architecture_compiles_is_latent() -> None:
    path = "arch/s390/mm/walk.c"
    verdicts, sites = judge(path, WALKS, Kconfig(KCONFIG))
    decode = sites[("stale", "pte_to_swp_entry")]
    assert (decode.verdict, decode.reason) == ("latent", "config")
    assert decode.how.endswith(
        "would be unhandled once s390 selects HAVE_ARCH_USERFAULTFD_WP (only x86 can)"
    )
    assert {c.verdict for c in verdicts.causes(tuple(sites.values()))} == {"latent"}
    # x86 can have the special pte: the same code there is unhandled.
    _, on_x86 = judge("arch/x86/mm/walk.c", WALKS, Kconfig(KCONFIG))
    assert on_x86[("stale", "pte_to_swp_entry")].verdict == "unhandled"


def test_a_site_compiled_only_without_the_option_is_latent() -> None:
    source = WALKS.replace(
        "int stale(pte_t *ptep)\n",
        "#ifndef CONFIG_HAVE_ARCH_USERFAULTFD_WP\nint stale(pte_t *ptep)\n",
    ).replace("\nint fixed", "#endif\n\nint fixed", 1)
    _, sites = judge("mm/walk.c", source, Kconfig(KCONFIG))
    decode = sites[("stale", "pte_to_swp_entry")]
    assert (decode.verdict, decode.reason) == ("latent", "config")
    assert "is compiled only under `!defined(CONFIG_HAVE_ARCH_USERFAULTFD_WP)`" in decode.how


def test_a_case_the_tree_does_not_have_is_no_violation() -> None:
    live = RULE.all_cases - SPECIAL
    parsed, results = analyse("mm/walk.c", WALKS, live=live)
    verdicts = Verdicts(RULE, live, list(results.values()), {}, {"mm/walk.c": parsed}, None)
    sites = verdicts.sites()
    assert {s.verdict for s in sites} == {"handled"}
    stale = next(s for s in sites if (s.function, s.api) == ("stale", "pte_to_swp_entry"))
    assert (stale.reason, stale.how) == ("no-case", "(b) does not exist in this tree")
    assert verdicts.causes(tuple(sites)) == ()


def test_callers_decide_a_parameter_rooted_violation() -> None:
    results, wanted, parsed = judge_helper()
    verdicts = Verdicts(
        RULE,
        RULE.all_cases,
        list(results.values()),
        {"mm/h.c::helper": (wanted,)},
        {"mm/h.c": parsed},
        None,
    )
    sites = {(s.function, s.api): s for s in verdicts.sites()}
    decode = sites[("helper", "pte_to_swp_entry")]
    assert (decode.verdict, decode.reason) == ("unhandled", "caller")
    assert decode.how == "(b) reaches pte_to_swp_entry() from caller_bad() at mm/h.c:21"
    ok = sites[("caller_ok", "helper")]
    assert (ok.verdict, ok.via) == ("handled", "pte_to_swp_entry() in helper()")
    (cause,) = verdicts.causes(tuple(sites.values()))
    assert cause.root == "`*ptep` in caller_bad() (mm/h.c:17)"
    assert cause.anchor == sites[("caller_bad", "is_swap_pte")]
    assert {s.function for s in cause.further} == {"helper", "caller_bad"}


def test_grounding() -> None:
    results, _, _ = judge_helper()
    helper, ok, bad = results["helper"], results["caller_ok"], results["caller_bad"]
    (decode,) = helper.sites
    ok_call = next(s for s in ok.sites if s.api == "helper")
    bad_call = next(s for s in bad.sites if s.api == "helper")

    def status(callers: list[tuple[FunctionResult, SiteRecord]], taken: set[str]) -> str:
        return Grounding({"helper": callers}, taken, RULE.forbidden).status(helper, decode)[0]

    assert status([], set()) == "unknown"  # no caller visible
    assert status([(ok, ok_call)], set()) == "clean"
    assert status([(ok, ok_call), (bad, bad_call)], set()) == "grounded"
    # Its address is taken: callers not seen may pass anything.
    assert status([(ok, ok_call)], {"helper"}) == "unknown"
    grounding = Grounding({"helper": [(ok, ok_call), (bad, bad_call)]}, set(), RULE.forbidden)
    _, root, chain = grounding.status(helper, decode)
    assert root == Origin("mm/h.c", "caller_bad", "*ptep", 17)
    assert chain == [(bad, bad_call)]
    assert grounding.callers_of(helper) == [(ok, ok_call), (bad, bad_call)]
    # A site with no violation needs no grounding.
    assert Grounding({}, set(), RULE.forbidden).status(ok, ok_call)[0] == "clean"


def test_a_function_own_read_is_grounded_without_callers() -> None:
    _, results = analyse("mm/walk.c", WALKS)
    stale = results["stale"]
    decode = next(s for s in stale.sites if s.api == "pte_to_swp_entry")
    # A load through the parameter pointer: with no caller in sight, the function's own read.
    state, root, chain = Grounding({}, set(), RULE.forbidden).status(stale, decode)
    assert (state, root, chain) == ("grounded", Origin("mm/walk.c", "stale", "*ptep", 3), [])


def test_origin() -> None:
    origin = Origin("mm/h.c", "caller_bad", "*ptep", 17)
    assert origin.describe() == "`*ptep` in caller_bad() (mm/h.c:17)"
    assert origin.id == "mm/h.c\0caller_bad\0*ptep"


def test_cause_sites_start_with_the_anchor() -> None:
    anchor = CallSite("a", "mm/x.c", 5, 7, "f", "is_swap_pte", "pte", (), "unhandled", "")
    further = CallSite("b", "mm/x.c", 7, 18, "f", "pte_to_swp_entry", "pte", (), "unhandled", "")
    assert Cause("c", "unhandled", anchor, (further,), "root", "d").sites == ("a", "b")


def test_reasons_are_the_documented_kinds() -> None:
    assert REASONS == (
        "guard",
        "callee-result",
        "caller",
        "origin",
        "config",
        "no-case",
        "unparsed",
    )


def test_site_id_is_stable_and_distinguishes_occurrences() -> None:
    ident = site_id("pte-marker", "mm/memory.c", "zap_pte_range", "swap_free", "entry", 1)
    assert ident == site_id("pte-marker", "mm/memory.c", "zap_pte_range", "swap_free", "entry", 1)
    assert len(ident) == 16 and int(ident, 16) >= 0
    # Reformatting the argument does not change the site; anything else does.
    same = site_id("pte-marker", "mm/memory.c", "zap_pte_range", "swap_free", " en try\n", 1)
    assert same == site_id("pte-marker", "mm/memory.c", "zap_pte_range", "swap_free", "entry", 1)
    others = {
        site_id("pte-marker", "mm/memory.c", "zap_pte_range", "swap_free", "entry", 2),
        site_id(
            "uffd-wp-special-swap-pte", "mm/memory.c", "zap_pte_range", "swap_free", "entry", 1
        ),
        site_id("pte-marker", "mm/rmap.c", "zap_pte_range", "swap_free", "entry", 1),
        site_id("pte-marker", "mm/memory.c", "copy_pte_range", "swap_free", "entry", 1),
        site_id("pte-marker", "mm/memory.c", "zap_pte_range", "swp_swapcount", "entry", 1),
        site_id("pte-marker", "mm/memory.c", "zap_pte_range", "swap_free", "ent", 1),
    }
    assert len(others) == 6 and ident not in others


def test_plain_name() -> None:
    assert plain_name("mm/h.c::helper") == "helper"
    assert plain_name("swap_free") == "swap_free"


def test_address_taken() -> None:
    parsed = {
        "mm/h.c": parse_file("mm/h.c", HELPER.encode()),
        "mm/ops.c": parse_file(
            "mm/ops.c",
            b"static const struct walk_ops ops = {\n\t.pte_entry = walk_one,\n};\n"
            b"int call(pte_t pte)\n{\n\treturn helper(pte) + other(pte);\n}\n"
            b"/* walk_other is only named in a comment */\n",
        ),
    }
    names = {"mm/h.c::helper", "walk_one", "walk_other", "mm/x.c::other"}
    assert address_taken(names, parsed) == {"walk_one"}
    assert address_taken(set(), parsed) == set()


def test_source_excerpt() -> None:
    parsed = {"mm/h.c": parse_file("mm/h.c", HELPER.encode())}
    texts: dict[str, list[str]] = {}
    assert source_excerpt(texts, parsed, "mm/h.c", 3, radius=1) == (
        Location("mm/h.c", 2, "{"),
        Location("mm/h.c", 3, "\treturn swp_type(pte_to_swp_entry(pte));"),
        Location("mm/h.c", 4, "}"),
    )
    # Clipped at the first line; each file is decoded once.
    assert [loc.line for loc in source_excerpt(texts, parsed, "mm/h.c", 1)] == [1, 2, 3]
    assert list(texts) == ["mm/h.c"]
    last = len(HELPER.splitlines())
    assert [loc.line for loc in source_excerpt(texts, parsed, "mm/h.c", last)] == [
        last - 2,
        last - 1,
        last,
    ]
    assert source_excerpt(texts, parsed, "mm/absent.c", 3) == ()
