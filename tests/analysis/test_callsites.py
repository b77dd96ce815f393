"""Verdicts, reasons and root causes of the call-site audit, on small in-memory trees."""

from __future__ import annotations

import re

from reviewtool.analysis.callsites import Auditor, StateAudit
from reviewtool.analysis.rules import load_rule

HEADER = b"struct vm_fault { pte_t orig_pte; pte_t *pte; };\n"


def audit(files: dict[str, bytes], rule: str = "pte-marker") -> StateAudit:
    every = {"include/linux/mm.h": HEADER, **files}

    def read(path: str) -> tuple[str, bytes] | None:
        return (path, every[path]) if path in every else None

    def find(names: set[str]) -> set[str]:
        pattern = re.compile(rb"\b(" + b"|".join(n.encode() for n in names) + rb")\b")
        return {p for p, data in files.items() if pattern.search(data)}

    return Auditor(load_rule(rule)).audit(sorted(files), read, find)


ONE_CAUSE = b"""#include <linux/mm.h>
bool is_pte_marker(pte_t pte);

static int helper(swp_entry_t entry)
{
\treturn swp_swapcount(entry);
}

int walk(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);
\tswp_entry_t entry;

\tif (!is_swap_pte(pte))
\t\treturn 0;
\tentry = pte_to_swp_entry(pte);
\tswap_free(entry);
\treturn helper(entry) + page_to_nid(pfn_swap_entry_to_page(entry));
}
"""


def test_one_root_cause_groups_the_guard_and_every_use() -> None:
    state = audit({"mm/walk.c": ONE_CAUSE})
    unhandled = [s for s in state.sites if s.verdict == "unhandled"]
    assert {(s.function, s.api) for s in unhandled} == {
        ("walk", "is_swap_pte"),
        ("walk", "swap_free"),
        ("walk", "helper"),
        ("walk", "pfn_swap_entry_to_page"),
        ("helper", "swp_swapcount"),
    }
    (cause,) = state.causes
    assert cause.anchor.api == "is_swap_pte" and cause.anchor.reason == "guard"
    assert set(cause.sites) == {s.id for s in unhandled}
    assert all(s.cause == cause.id for s in unhandled)
    assert "`*ptep` in walk()" in cause.root
    helper = next(s for s in unhandled if s.function == "helper")
    assert helper.reason == "caller" and "from walk()" in helper.how


def test_reasons_of_handled_and_unknown_sites() -> None:
    source = b"""#include <linux/mm.h>
bool is_pte_marker(pte_t pte);
int guarded(pte_t *ptep)
{
\tpte_t pte = ptep_get(ptep);

\tif (!is_swap_pte(pte) || non_swap_entry(pte_to_swp_entry(pte)))
\t\treturn 0;
\treturn swp_swapcount(pte_to_swp_entry(pte));
}

int given(swp_entry_t entry)
{
\treturn swp_swapcount(entry);
}

int made(void)
{
\treturn swp_swapcount(swp_entry(1, 2));
}
"""
    state = audit({"mm/reasons.c": source})
    by_function = {s.function: s for s in state.sites if s.api == "swp_swapcount"}
    assert (by_function["guarded"].verdict, by_function["guarded"].reason) == ("handled", "guard")
    assert (by_function["given"].verdict, by_function["given"].reason) == ("unknown", "caller")
    assert (by_function["made"].verdict, by_function["made"].reason) == ("handled", "origin")
    assert state.causes == ()
