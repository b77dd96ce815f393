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

from reviewtool.callsites import CallSite
from reviewtool.rules import load_rule
from reviewtool.treeaudit import audit_revision
from tests.helpers import run_cli

LINUX61 = os.environ.get("REVIEWTOOL_LINUX61_TREE", "")
V511 = os.environ.get("REVIEWTOOL_V511_TREE", "")
WATCHED = ("is_swap_pte", "pte_to_swp_entry")

pytestmark = pytest.mark.slow


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
    assert {s.verdict for s in audit.sites} <= {"handled", "unhandled", "unknown"}
    assert "marker" in audit.live_cases
    by_place = {(s.path, s.function, s.api): s for s in audit.sites}
    # mincore treats a marker as none before decoding (6.1 mm/mincore.c).
    mincore = by_place[("mm/mincore.c", "mincore_pte_range", "pte_to_swp_entry")]
    assert mincore.verdict == "handled"
    assert "b" not in mincore.cases and "a.2 marker" not in mincore.cases


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
    assert sites and all(s["verdict"] in ("handled", "unhandled", "unknown") for s in sites)
    assert data["coverage"]["parsed_call_sites"] == data["coverage"]["textual_calls"]
    ids = [s["id"] for s in sites]
    assert len(ids) == len(set(ids))
    finding_rules = {f["rule"] for f in data["findings"]}
    assert {"apply-failed", "apply-fuzzy", "uffd-wp-special-swap-pte"} <= finding_rules


@pytest.mark.skipif(not V511, reason="REVIEWTOOL_V511_TREE is not set")
def test_v511_base_inventory(tmp_path: Path) -> None:
    tree = Path(V511)
    (audit,) = audit_revision(tree, "HEAD", [load_rule("uffd-wp-special-swap-pte")], None)
    assert our_inventory(list(audit.sites)) == grep_inventory(tree, "HEAD", WATCHED)
    # No special swap pte exists in v5.11: nothing can be unhandled.
    assert "special" not in audit.live_cases
    assert {s.verdict for s in audit.sites} == {"handled"}
