"""`reviewtool build`: the command on the fake Kbuild tree (tests/fakelinux) with its fake
cross compilers: the build matrix and build findings only, --arch lists, --fail-on, --no-cache
and the usage errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reviewtool.errors import ExitCode
from tests.conftest import git
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]
SIGNOFF = "Signed-off-by: Ana Lima <ana.lima@example.com>"


@pytest.fixture
def warning_series(fake_tree: Path, tmp_path: Path) -> Path:
    """One patch: a new compiler warning on arm64 only, and a trailing blank in generic code
    (a series-check finding that `build` must not report)."""
    with (fake_tree / "arch/arm64/mm/hugetlbpage.c").open("a") as handle:
        handle.write("/* FAKE_WARNING(arm64 only) */\n")
    with (fake_tree / "mm/memory.c").open("a") as handle:
        handle.write("/* fine */ \n")
    git(fake_tree, "commit", "-qam", f"mm: a warning on arm64\n\n{SIGNOFF}")
    path = tmp_path / "series.mbox"
    path.write_text(git(fake_tree, "format-patch", "--stdout", "-1"))
    git(fake_tree, "reset", "-q", "--hard", "HEAD~1")
    return path


def build(capsys: Capture, series: Path, tree: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli(capsys, "build", str(series), "--tree", str(tree), *args)
    return result.code, result.out, result.err


def test_build_reports_the_warnings_a_patch_adds_per_arch(
    warning_series: Path, fake_tree: Path, tmp_path: Path, capsys: Capture
) -> None:
    cache = tmp_path / "cache"
    code, out, err = build(
        capsys, warning_series, fake_tree, "--arch", "arm64,s390", "--arch", "ia64",
        "--cache-dir", str(cache), "-f", "json",
    )  # fmt: skip
    assert (code, err) == (ExitCode.OK, "")  # a warning is below the default --fail-on error
    data = json.loads(out)
    assert data["build"]["arches"] == ["arm64", "s390", "ia64"]
    assert data["build"]["base_source"] == "HEAD"
    cells = {(c["patch"], c["arch"]): (c["status"], c["reason"]) for c in data["builds"]}
    assert cells == {
        (0, "arm64"): ("ok", ""),
        (1, "arm64"): ("new_warnings", ""),
        (0, "s390"): ("ok", ""),
        (1, "s390"): ("ok", ""),
        (0, "ia64"): ("not_built", "no toolchain for ia64 (Debian has none)"),
        (1, "ia64"): ("not_built", "no toolchain for ia64 (Debian has none)"),
    }
    # Only build findings: the series checks (the trailing blank) are audit's.
    assert [(f["rule"], f["severity"], f["patch"], f["path"]) for f in data["findings"]] == [
        ("build", "warning", 1, "arch/arm64/mm/hugetlbpage.c")
    ]
    assert "arm64 only [-Wfake-warning]" in data["findings"][0]["message"]
    assert (cache / "build").is_dir()  # the cache is kept for the next run


def test_build_fails_at_fail_on_and_shows_the_matrix_as_text(
    warning_series: Path, fake_tree: Path, tmp_path: Path, capsys: Capture
) -> None:
    code, out, _ = build(
        capsys, warning_series, fake_tree, "--arch", "arm64",
        "--cache-dir", str(tmp_path / "cache"), "--fail-on", "warning",
    )  # fmt: skip
    assert code == ExitCode.FINDINGS
    assert "Builds (patch x arch): " in out
    lines = out.splitlines()
    matrix = lines.index("  patch     arm64")
    assert lines[matrix + 1 : matrix + 3] == ["   base        ok", "      1      WARN"]
    assert "Findings: 1 warning" in out


def test_no_cache_builds_in_the_work_dir_and_leaves_nothing(
    warning_series: Path, fake_tree: Path, tmp_path: Path, capsys: Capture
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    code, out, _ = build(
        capsys, warning_series, fake_tree, "--arch", "arm64", "--no-cache",
        "--work-dir", str(work), "-f", "json",
    )  # fmt: skip
    assert code == ExitCode.OK
    data = json.loads(out)
    assert {(c["patch"], c["status"]) for c in data["builds"]} == {(0, "ok"), (1, "new_warnings")}
    # The build ran under the work dir (the reproduce command names it), then went away.
    assert str(work) in data["findings"][0]["build"]["reproduce"]
    assert list(work.iterdir()) == []
    assert not (Path(os.environ["XDG_CACHE_HOME"]) / "reviewtool").exists()


def test_build_usage_errors(
    warning_series: Path, fake_tree: Path, tmp_path: Path, capsys: Capture
) -> None:
    missing_tree = run_cli(capsys, "build", str(warning_series))
    assert missing_tree.code == ExitCode.INPUT
    assert missing_tree.err.startswith("reviewtool: error: Missing option '--tree'")
    code, _, err = build(capsys, warning_series, fake_tree, "--arch", "vax")
    assert code == ExitCode.INPUT
    assert err.startswith("reviewtool: error: --arch vax: unknown architecture (known: ")
    code, _, err = build(capsys, warning_series, fake_tree, "--work-dir", str(tmp_path / "none"))
    assert (code, err) == (
        ExitCode.INPUT,
        f"reviewtool: error: --work-dir {tmp_path / 'none'}: not a directory\n",
    )
    before = warning_series.read_bytes()
    code, _, err = build(capsys, warning_series, fake_tree, "-o", str(warning_series))
    assert code == ExitCode.INPUT and "--output would overwrite the input series" in err
    assert warning_series.read_bytes() == before
