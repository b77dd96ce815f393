"""Per-patch cross-builds with real cross compilers on Debian's 6.1 tree (slow; CI runs it).

fixtures/kernel/hugetlb-build-window.mbox: patch 1 documents pmd_huge() on arm64 and s390,
patch 2 breaks arch/arm64/mm/hugetlbpage.c (an undeclared macro), patch 3 repairs it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.helpers import run_cli

LINUX61 = os.environ.get("REVIEWTOOL_LINUX61_TREE", "")
SERIES = FIXTURES / "kernel" / "hugetlb-build-window.mbox"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LINUX61, reason="REVIEWTOOL_LINUX61_TREE is not set"),
    pytest.mark.skipif(
        not (shutil.which("aarch64-linux-gnu-gcc") and shutil.which("s390x-linux-gnu-gcc")),
        reason="the arm64 and s390 cross compilers are not installed",
    ),
]


def test_matrix_shows_the_broken_and_the_repaired_patch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cache = Path(os.environ.get("REVIEWTOOL_BUILD_CACHE", tmp_path / "cache"))
    result = run_cli(
        capsys,
        "build",
        str(SERIES),
        "--tree",
        LINUX61,
        "--format",
        "json",
        "--cache-dir",
        str(cache),
    )
    assert result.code == 1, result.err  # patch 2 adds an error
    data = json.loads(result.out)
    matrix = {(c["patch"], c["arch"]): c for c in data["builds"]}
    assert {k: c["status"] for k, c in matrix.items()} == {
        (0, "arm64"): "ok",
        (0, "s390"): "ok",
        (1, "arm64"): "ok",
        (1, "s390"): "ok",
        (2, "arm64"): "new_errors",
        (2, "s390"): "ok",
        (3, "arm64"): "ok",
        (3, "s390"): "ok",
    }
    broken = matrix[(2, "arm64")]
    assert broken["objects"] == ["arch/arm64/mm/hugetlbpage.o"]
    errors = broken["new_diagnostics"]
    assert errors[0]["path"] == "arch/arm64/mm/hugetlbpage.c"
    assert "PMD_TABLE_BIT_MASK" in errors[0]["message"]
    assert errors[0]["severity"] == "error"
    assert "ARCH=arm64" in broken["command"] and "arch/arm64/mm/hugetlbpage.o" in broken["command"]
    findings = [
        (f["rule"], f["patch"], f["path"]) for f in data["findings"] if f["rule"] == "build"
    ]
    assert findings and all(f == ("build", 2, "arch/arm64/mm/hugetlbpage.c") for f in findings)
    # Patch 3's rebuild clears it: nothing new, nothing left over.
    assert matrix[(3, "arm64")]["new_diagnostics"] == []


@pytest.mark.skipif(
    not (os.environ.get("REVIEWTOOL_V511_TREE") and os.environ.get("REVIEWTOOL_LONG_BUILDS")),
    reason="set REVIEWTOOL_V511_TREE and REVIEWTOOL_LONG_BUILDS=1 (about 15 minutes)",
)
def test_rfc_matrix_on_v511(
    rfc_mbox: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cache = Path(os.environ.get("REVIEWTOOL_BUILD_CACHE", tmp_path / "cache"))
    result = run_cli(
        capsys,
        "build",
        str(rfc_mbox),
        "--tree",
        os.environ["REVIEWTOOL_V511_TREE"],
        "--format",
        "json",
        "--fail-on",
        "never",
        "--cache-dir",
        str(cache),
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    touched = {"arm64", "ia64", "mips", "parisc", "powerpc", "s390", "sh", "sparc"}
    cells = {(c["patch"], c["arch"]): c for c in data["builds"]}
    for patch in range(31):
        for arch in touched:
            assert cells[(patch, arch)]["status"] in {
                "ok",
                "new_warnings",
                "new_errors",
                "preexisting",
                "not_built",
            }
    assert {cells[(p, "ia64")]["reason"] for p in range(31)} == {
        "no toolchain for ia64 (Debian has none)"
    }
    # Patch 21's mips hunk has a typo (`structt vm_area_struct`): only mips breaks there.
    mips = cells[(21, "mips")]
    assert mips["status"] == "new_errors"
    assert any("structt" in d["message"] for d in mips["new_diagnostics"])
