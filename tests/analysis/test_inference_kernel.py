"""Inferred return contracts on Debian's 6.1 tree (slow; CI builds the tree): two replays of
upstream return-contract changes, callee side only, with the callers upstream converted as the
truth (fixtures/README.md says how the cases were chosen and where each truth comes from), and
the series that change no contract, which must get none."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tests.helpers import run_cli

LINUX61 = os.environ.get("REVIEWTOOL_LINUX61_TREE", "")
V511 = os.environ.get("REVIEWTOOL_V511_TREE", "")
SHARED = Path(os.environ.get("REVIEWTOOL_SHARED", Path(__file__).resolve().parents[3] / "shared"))
RFC = SHARED / "series" / "uffd-wp-rfc-v1.mbox"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LINUX61, reason="REVIEWTOOL_LINUX61_TREE is not set"),
]

# 66dabbb65d67 "mm: return an ERR_PTR from __filemap_get_folio" (v6.4): the callers the commit
# converts that 6.1 has with the same call and test, pagecache_get_page() (converted, on 6.1's
# older code) and iomap_write_begin() (6.1 has iomap_get_folio()'s test inline there).
FILEMAP_COMMIT = {
    "afs_read_dir", "afs_dir_iterate", "afs_dir_get_folio", "afs_kill_pages",
    "afs_redirty_pages", "ext4_wait_for_tail_page_commit", "hugetlbfs_zero_partial_page",
    "iomap_write_delalloc_scan", "netfs_write_begin", "nilfs_copy_back_pages", "filemap_fault",
    "do_read_cache_folio", "shmem_unused_huge_shrink", "shmem_get_link", "swap_cache_get_folio",
    "__read_swap_cache_async", "__try_to_reclaim_swap", "try_to_unuse",
    "truncate_inode_pages_range", "pagecache_get_page", "iomap_write_begin",
}  # fmt: skip
# ... and the 6.1 callers upstream converted outside that commit: ext4's buddy cache (in the
# v6.4 ext4 merge), cifs_flush_folio() (upstream tests IS_ERR(); its 6.1 backport had to be
# turned back to `!folio`), and shmem's two FGP_ENTRY users (reworked by the patches before
# 66dabbb65d67 in its series; shmem_undo_range() reaches it through shmem_get_partial_folio()).
FILEMAP_UPSTREAM = FILEMAP_COMMIT | {
    "ext4_mb_get_buddy_page_lock", "ext4_mb_load_buddy_gfp", "cifs_flush_folio",
    "shmem_get_folio_gfp", "shmem_undo_range",
}  # fmt: skip
# be2d57563822 (folio_isolate_lru() returns bool; the commit keeps isolate_lru_page() an int)
# and f7f9c00dfaff (isolate_lru_page() returns bool), per patch; the damon and madvise callers
# of isolate_lru_page() are those be2d57563822 converts upstream, where they already call
# folio_isolate_lru().
ISOLATE = {
    1: {"collect_longterm_unpinnable_pages", "collapse_file", "migrate_folio_add"},
    2: {
        "__collapse_huge_page_isolate", "mem_cgroup_move_charge_pte_range",
        "delete_from_lru_cache", "isolate_page", "do_migrate_range", "add_page_for_migration",
        "numamigrate_isolate_page", "migrate_device_unmap", "damon_pa_pageout",
        "madvise_cold_or_pageout_pte_range",
    },
}  # fmt: skip


def audit(capsys: pytest.CaptureFixture[str], mbox: Path, tree: str, *extra: str) -> dict[str, Any]:
    result = run_cli(capsys, "audit", str(mbox), "--tree", tree, "--format", "json", *extra)
    assert result.code in (0, 1), result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def flagged(data: dict[str, Any]) -> set[tuple[int, str]]:
    return {
        (f["patch"], f["function"])
        for f in data["findings"]
        if f["rule"] == "inferred-contract" and f["severity"] == "warning"
    }


def test_filemap_get_folio_returns_err_ptr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = audit(capsys, FIXTURES / "kernel" / "filemap-get-folio-errptr.mbox", LINUX61)
    assert [a["status"] for a in data["tree"]["applied"]] == ["ok"]
    (contract,) = data["contracts"]
    assert contract["function"] == "__filemap_get_folio" and contract["inferred"]
    assert {"ERR_PTR(-ENOENT)", "ERR_PTR(-ENOMEM)", "ERR_PTR(-EAGAIN)"} <= set(contract["after"])
    assert {"filemap_get_folio", "filemap_lock_folio"} <= set(contract["wrappers"])
    found = flagged(data)
    assert {patch for patch, _ in found} == {1}
    functions = {function for _, function in found}
    recall = len(functions & FILEMAP_COMMIT) / len(FILEMAP_COMMIT)
    precision = len(functions & FILEMAP_UPSTREAM) / len(functions)
    assert recall >= 0.85, sorted(FILEMAP_COMMIT - functions)
    assert precision >= 0.80, sorted(functions - FILEMAP_UPSTREAM)
    # every warning says which contract it is about, and where it came from
    warnings = [
        f
        for f in data["findings"]
        if f["rule"] == "inferred-contract" and f["severity"] == "warning"
    ]
    assert all(f["inferred"]["function"] == "__filemap_get_folio" for f in warnings)
    assert all("[contract inferred from patch 1" in f["message"] for f in warnings)


def test_isolation_functions_return_bool(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = audit(capsys, FIXTURES / "kernel" / "isolate-lru-bool.mbox", LINUX61)
    assert [a["status"] for a in data["tree"]["applied"]] == ["ok", "ok"]
    assert [c["function"] for c in data["contracts"]] == [
        "folio_isolate_lru",
        "isolate_lru_page",
    ]
    found = flagged(data)
    truth = {(patch, f) for patch, functions in ISOLATE.items() for f in functions}
    assert len(found & truth) / len(truth) >= 0.85, sorted(truth - found)
    assert len(found & truth) / len(found) >= 0.80, sorted(found - truth)
    # patch 1 converts its own wrapper: isolate_lru_page() is handled there, not a warning
    sites = data["contracts"][0]["callsites"]
    wrapper = next(s for s in sites if s["function"] == "isolate_lru_page")
    assert (wrapper["verdict"], wrapper["reason"]) == ("handled", "converted")


def test_rule_infer_writes_a_rule_the_audit_reads_back(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    mbox = FIXTURES / "kernel" / "filemap-get-folio-errptr.mbox"
    rule = tmp_path / "contract.toml"
    result = run_cli(capsys, "rule", "infer", str(mbox), "--tree", LINUX61, "-o", str(rule))
    assert result.code == 0, result.err
    assert 'function = "__filemap_get_folio"' in rule.read_text()
    inferred = flagged(audit(capsys, mbox, LINUX61))
    stated = audit(capsys, mbox, LINUX61, "--rule", str(rule), "--no-infer")
    assert {
        (f["patch"], f["function"])
        for f in stated["findings"]
        if f["rule"] == "returns-__filemap_get_folio" and f["severity"] == "warning"
    } == inferred


@pytest.mark.parametrize("name", ["marker-guards.mbox", "hugetlb-build-window.mbox"])
def test_series_that_change_no_contract_get_none(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = audit(capsys, FIXTURES / "kernel" / name, LINUX61)
    assert data["contracts"] == []
    assert not [f for f in data["findings"] if f["rule"] == "inferred-contract"]


@pytest.mark.skipif(not V511 or not RFC.is_file(), reason="needs the v5.11 tree and the RFC")
def test_rfc_inference_adds_no_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with_inference = audit(capsys, RFC, V511, "--base", "v5.11")
    without = audit(capsys, RFC, V511, "--base", "v5.11", "--no-infer")

    def warnings(data: dict[str, Any]) -> list[tuple[str, int, str]]:
        return sorted(
            (f["rule"], f["patch"], f["function"] or "")
            for f in data["findings"]
            if f["severity"] in ("warning", "error")
        )

    assert warnings(with_inference) == warnings(without)
    # patch 20 makes mwriteprotect_range() return -EINVAL: its one caller passes it on
    (contract,) = with_inference["contracts"]
    assert contract["function"] == "mwriteprotect_range" and contract["patch"] == 20
