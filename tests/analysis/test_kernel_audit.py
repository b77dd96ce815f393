"""The call-site audit on real kernel trees (slow; CI builds the 6.1 tree).

Inventories are checked against an independent `git grep -w`, filtered here for comments and
definitions with plain line rules, not with reviewtool's own scanner.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from reviewtool.analysis.rules import load_rule
from reviewtool.analysis.treeaudit import audit_revision
from reviewtool.analysis.verdicts import REASONS, CallSite
from tests.conftest import FIXTURES
from tests.helpers import run_cli

LINUX61 = os.environ.get("REVIEWTOOL_LINUX61_TREE", "")
V511 = os.environ.get("REVIEWTOOL_V511_TREE", "")
WATCHED = ("is_swap_pte", "pte_to_swp_entry")

pytestmark = pytest.mark.slow


# The sites the RFC leaves unhandled, reviewed by hand: each is a real path from a pte that
# may be the special swap pte to pte_to_swp_entry() or to a soft-dirty helper.
REVIEWED_RFC_SITES = {
    ("arch/arm64/kernel/mte.c", "mte_sync_page_tags"),
    ("arch/s390/mm/pgtable.c", "ptep_zap_unused"),
    ("mm/gup.c", "follow_page_pte"),
    ("mm/hmm.c", "hmm_vma_handle_pte"),
    ("mm/madvise.c", "swapin_walk_pmd_entry"),
    ("mm/madvise.c", "madvise_free_pte_range"),
    ("mm/migrate.c", "remove_migration_pte"),
    ("mm/migrate.c", "migrate_vma_collect_pmd"),
    ("mm/mincore.c", "mincore_pte_range"),
    ("mm/swap_state.c", "swap_ra_info"),
    ("mm/swap_state.c", "swap_vma_readahead"),
    ("mm/swapfile.c", "pte_same_as_swp"),
    ("mm/swapfile.c", "unuse_pte_range"),
}


def grep_inventory(tree: Path, rev: str, names: tuple[str, ...]) -> Counter[tuple[str, int, str]]:
    """Calls of names per `git grep -n -w`, minus comments, strings and definitions."""
    args = ["git", "-C", str(tree), "grep", "-n", "-w", "-I"]
    for name in names:
        args += ["-e", name]
    out = subprocess.run(
        [*args, rev, "--", "*.c", "*.h"], capture_output=True, text=True, check=True
    ).stdout
    found: Counter[tuple[str, int, str]] = Counter()
    for row in out.splitlines():
        _, path, number, text = row.split(":", 3)
        stripped = text.strip()
        if stripped.startswith(("*", "/*", "//")):
            continue  # a comment line
        text = re.sub(r"/\*.*?(\*/|$)|//.*$", "", text)
        text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
        for name in names:
            if re.match(rf"\s*#\s*define\s+{name}\b", text):
                continue
            if re.match(rf"[A-Za-z_][\w\s\*]*\b{name}\s*\(", text) and not text[0].isspace():
                continue  # a definition or prototype, in column 0 as kernel style has them
            for _ in re.finditer(rf"\b{name}\s*\(", text):
                found[(path, int(number), name)] += 1
    return found


def our_inventory(sites: list[CallSite]) -> Counter[tuple[str, int, str]]:
    return Counter((s.path, s.line, s.api) for s in sites if s.api in WATCHED)


@pytest.mark.skipif(not LINUX61, reason="REVIEWTOOL_LINUX61_TREE is not set")
def test_linux61_inventory_and_verdicts(tmp_path: Path) -> None:
    tree = Path(LINUX61)
    (audit,) = audit_revision(tree, "HEAD", [load_rule("pte-marker")], tmp_path / "cache")
    assert our_inventory(list(audit.sites)) == grep_inventory(tree, "HEAD", WATCHED)
    assert audit.coverage.parsed == audit.coverage.textual > 50
    assert {s.verdict for s in audit.sites} <= {"handled", "unhandled", "unknown", "latent"}
    assert all(s.reason in REASONS for s in audit.sites)
    assert "marker" in audit.live_cases
    by_place = {(s.path, s.function, s.api): s for s in audit.sites}
    # mincore treats a marker as none before decoding (6.1 mm/mincore.c).
    mincore = by_place[("mm/mincore.c", "mincore_pte_range", "pte_to_swp_entry")]
    assert mincore.verdict == "handled"
    assert "b" not in mincore.cases and "a.2 marker" not in mincore.cases
    # A released kernel handles its markers: nothing is unhandled or unknown.
    assert [s for s in audit.sites if s.verdict in ("unhandled", "unknown")] == []
    # The swap-device walk compares the entry's type with the device's (a comparison).
    unuse = by_place[("mm/swapfile.c", "unuse_pte_range", "swap_cache_get_folio")]
    assert unuse.verdict == "handled" and unuse.reason == "guard", unuse.how
    # Entries from the page cache carry no case (an origin), and the static helpers that
    # shmem passes them to see no case from their callers.
    shmem = by_place[("mm/shmem.c", "shmem_swapin_folio", "swap_cache_get_folio")]
    assert shmem.verdict == "handled" and shmem.reason == "origin", shmem.how
    helper = by_place[("mm/shmem.c", "shmem_set_folio_swapin_error", "swap_free")]
    assert helper.verdict == "handled" and helper.reason == "caller", helper.how
    # copy_pte_range() only continues a swap count after copy_nonpresent_pte()'s -EIO.
    copy = by_place[("mm/memory.c", "copy_pte_range", "add_swap_count_continuation")]
    assert copy.verdict == "handled" and copy.reason == "callee-result", copy.how
    # try_restore_exclusive_pte() re-reads what copy_nonpresent_pte() tested.
    restore = by_place[("mm/memory.c", "try_restore_exclusive_pte", "pfn_swap_entry_to_page")]
    assert restore.verdict == "handled" and restore.reason == "caller", restore.how
    # A pmd's entry: 6.1 has no pmd markers (the guard straddles an #ifdef there, too).
    pagemap = by_place[("fs/proc/task_mmu.c", "pagemap_pmd_range", "pfn_swap_entry_to_page")]
    assert pagemap.verdict == "handled" and pagemap.reason == "origin", pagemap.how
    # Only x86 selects HAVE_ARCH_USERFAULTFD_WP: arm64's and s390's own paths are latent,
    # including arm64's set_huge_pte_at(), which decodes a pfn from any non-present pte
    # (fixed upstream in v6.6 when arm64 gained uffd-wp: "arm64: hugetlb: Fix
    # set_huge_pte_at() to work with all swap entries").
    latent = [s for s in audit.sites if s.verdict == "latent"]
    assert latent and all(s.reason == "config" for s in latent)
    assert all("HAVE_ARCH_USERFAULTFD_WP" in s.how for s in latent)
    arm64 = by_place[
        ("arch/arm64/mm/hugetlbpage.c", "hugetlb_swap_entry_to_folio", "swp_offset_pfn")
    ]
    assert arm64.verdict == "latent" and "once arm64 selects" in arm64.how
    s390 = [s for s in latent if s.path == "arch/s390/mm/pgtable.c"]
    assert s390 and all("once s390 selects" in s.how for s in s390)
    # One root cause per origin: the latent sites group into few causes.
    assert 0 < len(audit.causes) < len(latent)


MARKER_GUARDS = FIXTURES / "kernel" / "marker-guards.mbox"


@pytest.mark.skipif(not LINUX61, reason="REVIEWTOOL_LINUX61_TREE is not set")
def test_linux61_guard_breaking_series(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """fixtures/kernel/marker-guards.mbox: patches 1-4 each let a marker reach a use that needs
    a pfn or a swap device (patch 2 through a helper it adds); 5 renames a variable in a
    guarded function; 6 edits a comment in s390's ptep_zap_unused(), a latent cause. Each bug
    is one warning on its patch, and nothing else is a warning."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = run_cli(
        capsys,
        "audit",
        str(MARKER_GUARDS),
        "--tree",
        LINUX61,
        "--rule",
        "pte-marker",
        "--format",
        "json",
        "--fail-on",
        "warning",
    )
    assert result.code == 1, result.err
    data = json.loads(result.out)
    assert all(a["status"] == "ok" for a in data["tree"]["applied"])
    warnings = [f for f in data["findings"] if f["severity"] in ("warning", "error")]
    assert [(f["rule"], f["patch"], f["function"]) for f in warnings] == [
        ("pte-marker", 1, "smaps_pte_entry"),
        ("pte-marker", 2, "pte_to_pagemap_entry"),
        ("pte-marker", 3, "smaps_hugetlb_range"),
        ("pte-marker", 4, "madvise_free_pte_range"),
    ]
    # Patch 2's helper is part of the finding: its use is evidence, not a finding of its own.
    helper = warnings[1]
    assert "pagemap_swap_page" in helper["message"]
    assert any("pagemap_swap_page" in e["note"] for e in helper["evidence"] + helper["related"])
    # Patch 6 touched a latent cause: a note on that patch that names the missing option.
    notes = {(f["patch"], f["function"]): f for f in data["findings"] if f["severity"] == "note"}
    zap = notes[(6, "ptep_zap_unused")]
    assert "once s390 selects HAVE_ARCH_USERFAULTFD_WP" in zap["message"]
    # The latent causes the series leaves alone are counted, not reported one by one.
    preexisting = notes[(None, None)]
    assert "before the series" in preexisting["message"]
    assert data["summary"]["preexisting"] == len(data["preexisting"]) > 0
    assert all(c["status"] == "preexisting" for c in data["preexisting"])
    statuses = {(c["patch"], c["function"]): c["status"] for c in data["causes"]}
    assert statuses[(6, "ptep_zap_unused")] == "changed"
    assert [c for c in data["causes"] if c["patch"] == 5] == []


@pytest.mark.skipif(not V511, reason="REVIEWTOOL_V511_TREE is not set")
def test_rfc_on_v511(
    rfc_mbox: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    tree = Path(V511)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = run_cli(
        capsys,
        "audit",
        str(rfc_mbox),
        "--tree",
        str(tree),
        "--format",
        "json",
        "--fail-on",
        "never",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    applied = {a["patch"]: a for a in data["tree"]["applied"]}
    assert sorted(applied) == list(range(1, 31))
    assert applied[2]["status"] == "failed"
    assert applied[2]["failed_files"] == ["include/linux/huge_mm.h"], applied[2]
    assert applied[21]["status"] == "fuzzy"
    # The apply report names what needed help: sparc's hugetlbpage.c, its first hunk.
    assert [(h["path"], h["hunk"]) for h in applied[21]["assisted"]] == [
        ("arch/sparc/mm/hugetlbpage.c", 1)
    ]
    fuzzy = next(f for f in data["findings"] if f["rule"] == "apply-fuzzy")
    assert fuzzy["patch"] == 21 and fuzzy["path"] == "arch/sparc/mm/hugetlbpage.c"
    assert "arch/sparc/mm/hugetlbpage.c hunk 1 (@@ -272 @@)" in fuzzy["message"]
    assert all(a["status"] == "ok" for n, a in applied.items() if n not in (2, 21))
    assert data["tree"]["partial_from"] == 2
    patches = data["series"]["patches"]
    assert all("callsites_delta" in p for p in patches)
    # Patch 06 introduces the special swap pte: the window opens there, and patch 07
    # (pte_has_swap_entry() in the core) closes part of it.
    assert [r["id"] for r in data["rules_audited"]] == ["uffd-wp-special-swap-pte"]
    assert patches[5]["callsites_delta"]["unhandled"]
    assert not any(p["callsites_delta"]["unhandled"] for p in patches[:5])
    assert patches[6]["callsites_delta"]["resolved"]
    sites = data["callsites"]
    verdicts = ("handled", "unhandled", "unknown", "latent")
    assert sites and all(s["verdict"] in verdicts for s in sites)
    assert data["coverage"]["parsed_call_sites"] == data["coverage"]["textual_calls"]
    ids = [s["id"] for s in sites]
    assert len(ids) == len(set(ids))
    finding_rules = {f["rule"] for f in data["findings"]}
    assert {"apply-failed", "apply-fuzzy", "uffd-wp-special-swap-pte"} <= finding_rules
    # The reviewed sites the series leaves unhandled stay flagged, one finding per function:
    # warnings where the special pte can exist (x86), latent notes where it cannot.
    flagged = {
        (s["path"], s["function"]): s["verdict"]
        for s in sites
        if s["verdict"] in ("unhandled", "latent")
    }
    assert set(flagged) >= REVIEWED_RFC_SITES
    assert flagged[("arch/arm64/kernel/mte.c", "mte_sync_page_tags")] == "latent"
    assert flagged[("arch/s390/mm/pgtable.c", "ptep_zap_unused")] == "latent"
    contract = [f for f in data["findings"] if f["rule"] == "uffd-wp-special-swap-pte"]
    by_function = Counter(f["function"] for f in contract)
    assert by_function["mte_sync_page_tags"] == 1 and by_function["unuse_pte_range"] == 1
    assert set(by_function) == {f for _, f in REVIEWED_RFC_SITES} - {"pte_same_as_swp"}
    assert all(n == 1 for n in by_function.values())
    assert {f["patch"] for f in contract} == {6}
    notes = {f["function"] for f in contract if f["severity"] == "note"}
    assert notes == {"mte_sync_page_tags", "ptep_zap_unused"}
    # pte_same_as_swp() is part of unuse_pte_range()'s path: evidence of that one finding.
    unuse = next(f for f in contract if f["function"] == "unuse_pte_range")
    assert any("pte_same_as_swp" in e["note"] for e in unuse["related"])
    # What the series resolves stays attributed to the patch that resolves it: the core
    # (07), zapping (13), fork (17) and hugetlb (23).
    resolving = {p["number"] for p in patches if p["callsites_delta"]["resolved"]}
    assert resolving == {7, 13, 17, 23}
    # No site the series handles is flagged: its own helpers and the paths it converts.
    handled = {(s["path"], s["function"]) for s in sites if s["verdict"] == "handled"}
    assert ("mm/memory.c", "do_swap_page") in handled
    assert ("mm/mremap.c", "move_soft_dirty_pte") in handled
    assert ("fs/proc/task_mmu.c", "clear_soft_dirty") in handled


@pytest.mark.skipif(not V511, reason="REVIEWTOOL_V511_TREE is not set")
def test_v511_base_inventory(tmp_path: Path) -> None:
    tree = Path(V511)
    (audit,) = audit_revision(tree, "HEAD", [load_rule("uffd-wp-special-swap-pte")], None)
    assert our_inventory(list(audit.sites)) == grep_inventory(tree, "HEAD", WATCHED)
    # No special swap pte exists in v5.11: nothing can be unhandled.
    assert "special" not in audit.live_cases
    assert {s.verdict for s in audit.sites} == {"handled"}
