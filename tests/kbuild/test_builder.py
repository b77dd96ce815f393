"""The cross-build engine on the fake Kbuild tree (tests/fakelinux) with fake compilers."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from reviewtool.intake.mail import Source, read_sources
from reviewtool.intake.series import build_series as assemble
from reviewtool.kbuild.builder import BuildOptions, BuildResult, build_findings, build_series
from reviewtool.kbuild.diagnostics import Diagnostic, parse_diagnostics
from reviewtool.render.common import build_lines
from tests.conftest import git

ARCHES = """
[arm64]
cross_compile = ["aarch64-linux-gnu-"]
defconfig = "defconfig"
aliases = ["aarch64"]
clang = true
debian = "gcc-aarch64-linux-gnu"

[s390]
cross_compile = ["s390x-linux-gnu-"]
defconfig = "defconfig"
aliases = ["s390x"]
clang = true
debian = "gcc-s390x-linux-gnu"

[ia64]
cross_compile = ["ia64-linux-gnu-"]
defconfig = "defconfig"
aliases = []
clang = false
debian = ""
"""


Edit = Callable[[Path], None]


def append(path: str, text: str) -> Edit:
    def edit(tree: Path) -> None:
        with (tree / path).open("a") as handle:
            handle.write(text)

    return edit


def replace(path: str, old: str, new: str) -> Edit:
    def edit(tree: Path) -> None:
        target = tree / path
        text = target.read_text()
        assert old in text, (path, old)
        target.write_text(text.replace(old, new, 1))

    return edit


def run_series(
    tree: Path,
    tmp_path: Path,
    patches: list[list[Edit]],
    *,
    base_edits: list[Edit] | None = None,
    **options: object,
) -> BuildResult:
    """Commit base edits, make the patches real commits, format them, and build the series
    on the base (the tree is put back at the base first)."""
    for edit in base_edits or []:
        edit(tree)
    if base_edits:
        git(tree, "commit", "-qam", "base changes")
    base = git(tree, "rev-parse", "HEAD").strip()
    for number, edits in enumerate(patches, start=1):
        for edit in edits:
            edit(tree)
        git(tree, "add", "-A")
        git(
            tree,
            "commit",
            "-qm",
            f"change {number}\n\nSigned-off-by: Ana Lima <ana.lima@example.com>",
        )
    mbox = subprocess.run(
        ["git", "-C", str(tree), "format-patch", "--stdout", f"{base}..HEAD"],
        capture_output=True,
        check=True,
    ).stdout
    git(tree, "reset", "-q", "--hard", base)
    series = assemble(read_sources([Source("series.mbox", data=mbox)]))
    table = tmp_path / "arches.toml"
    table.write_text(ARCHES)
    defaults: dict[str, object] = {
        "tree": tree,
        "base": base,
        "cache_dir": tmp_path / "cache",
        "arch_table": str(table),
        "timeout": 60.0,
    }
    defaults.update(options)
    return build_series(series, BuildOptions(**defaults))  # type: ignore[arg-type]


def statuses(result: BuildResult) -> dict[tuple[int, str], str]:
    return {(c.patch, c.arch): c.status for c in result.cells}


def test_new_error_then_fixed(fake_tree: Path, tmp_path: Path) -> None:
    hugetlb = "arch/arm64/mm/hugetlbpage.c"
    result = run_series(
        fake_tree,
        tmp_path,
        [
            [append(hugetlb, "/* a comment */\n")],
            [append(hugetlb, "/* FAKE_ERROR(pmd_bad undeclared) */\n")],
            [replace(hugetlb, "/* FAKE_ERROR(pmd_bad undeclared) */\n", "")],
        ],
    )
    assert result.arches == ("arm64",)
    assert statuses(result) == {
        (0, "arm64"): "ok",
        (1, "arm64"): "ok",
        (2, "arm64"): "new_errors",
        (3, "arm64"): "ok",
    }
    broken = next(c for c in result.cells if c.patch == 2)
    (error,) = broken.new_diagnostics
    assert (error.path, error.severity, error.message) == (hugetlb, "error", "pmd_bad undeclared")
    assert "ARCH=arm64" in broken.command and "arch/arm64/mm/hugetlbpage.o" in broken.command
    (finding,) = build_findings(result)
    assert (finding.rule, finding.patch, finding.path) == ("build", 2, hugetlb)


def test_new_warning_in_generic_code_on_each_arch(fake_tree: Path, tmp_path: Path) -> None:
    result = run_series(
        fake_tree,
        tmp_path,
        [
            [append("mm/memory.c", "/* FAKE_WARNING(unused variable 'x') */\n")],
        ],
        arches=("arm64", "s390"),
    )
    assert statuses(result) == {
        (0, "arm64"): "ok",
        (0, "s390"): "ok",
        (1, "arm64"): "new_warnings",
        (1, "s390"): "new_warnings",
    }
    cell = next(c for c in result.cells if c.patch == 1)
    assert cell.objects == ("mm/memory.o",)
    assert cell.new_diagnostics[0].flag == "-Wfake-warning"


def test_preexisting_failure_and_a_changed_error_set(fake_tree: Path, tmp_path: Path) -> None:
    hugetlb = "arch/s390/mm/hugetlbpage.c"
    result = run_series(
        fake_tree,
        tmp_path,
        [
            [append(hugetlb, "/* an unrelated comment */\n")],
            [append(hugetlb, "/* FAKE_ERROR(second problem) */\n")],
        ],
        base_edits=[append(hugetlb, "/* FAKE_ERROR(old problem) */\n")],
    )
    assert statuses(result) == {
        (0, "s390"): "preexisting",
        (1, "s390"): "preexisting",
        (2, "s390"): "new_errors",
    }
    cell = next(c for c in result.cells if c.patch == 2)
    assert [d.message for d in cell.new_diagnostics] == ["second problem"]
    assert cell.preexisting_count == 1
    assert [d.message for d in cell.preexisting] == ["old problem"]


def test_object_no_config_reaches(fake_tree: Path, tmp_path: Path) -> None:
    result = run_series(
        fake_tree, tmp_path, [[append("mm/needs_missing.c", "/* x */\n")]], arches=("arm64",)
    )
    cell = next(c for c in result.cells if c.patch == 1)
    assert cell.status == "not_built"
    assert "CONFIG_FAKE_NEEDS_MISSING cannot be enabled on arm64" in cell.reason


def test_missing_toolchain(fake_tree: Path, tmp_path: Path) -> None:
    result = run_series(fake_tree, tmp_path, [[append("arch/ia64/mm/hugetlbpage.c", "/**/\n")]])
    assert {c.status for c in result.cells} == {"not_built"}
    assert result.cells[0].reason == "no toolchain for ia64 (Debian has none)"


def test_timeout_is_a_reason_not_a_hang(fake_tree: Path, tmp_path: Path) -> None:
    result = run_series(
        fake_tree,
        tmp_path,
        [[append("mm/memory.c", "/* FAKE_SLEEP(30) */\n")]],
        arches=("arm64",),
        timeout=8.0,
    )
    cell = next(c for c in result.cells if c.patch == 1)
    assert cell.status == "preexisting"  # nothing new can be claimed of a build cut short
    assert "timed out" in cell.reason


def test_header_change_rebuilds_only_its_dependents(fake_tree: Path, tmp_path: Path) -> None:
    result = run_series(
        fake_tree,
        tmp_path,
        [
            [append("arch/arm64/mm/hugetlbpage.c", "/* one */\n"), append("mm/memory.c", "/**/\n")],
            [append("include/linux/pgtable_fake.h", "/* FAKE_WARNING(header warning) */\n")],
        ],
        arches=("arm64",),
    )
    cell = next(c for c in result.cells if c.patch == 2)
    assert cell.status == "new_warnings"
    # One warning, in the header, whichever object printed it.
    assert {d.path for d in cell.new_diagnostics} == {"include/linux/pgtable_fake.h"}


def test_parse_gcc_and_clang_output() -> None:
    output = """In file included from /src/mm/memory.c:5:
/src/include/linux/x.h: In function 'f':
/src/include/linux/x.h:3:5: warning: unused variable 'y' [-Wunused-variable]
/src/mm/memory.c: At top level:
/src/mm/memory.c:9:1: error: expected ';' before '}' token
mm/memory.c:12:3: note: each undeclared identifier is reported only once
scripts/kconfig/conf.c:1:1: warning: host tool
"""
    found = parse_diagnostics(output, Path("/src"))
    assert found[0] == Diagnostic(
        "include/linux/x.h", 3, 5, "warning", "-Wunused-variable", "unused variable 'y'", "f"
    )
    assert (found[1].severity, found[1].function, found[1].message) == (
        "error",
        "",
        "expected ';' before '}' token",
    )
    assert len(found) == 3
    assert (
        found[0].identity
        == Diagnostic(
            "include/linux/x.h", 30, 1, "warning", "-Wunused-variable", "unused variable 'y'", "f"
        ).identity
    )


def test_shards_merge_into_one_report(
    fake_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from tests.helpers import run_cli

    hugetlb = "arch/arm64/mm/hugetlbpage.c"
    for edit in (
        append(hugetlb, "/* FAKE_WARNING(arm64 only) */\n"),
        append("arch/s390/mm/hugetlbpage.c", "/* fine */ \n"),  # trailing blank: a finding
    ):
        edit(fake_tree)
    git(fake_tree, "commit", "-qam", "two arches\n\nSigned-off-by: Ana Lima <ana.lima@example.com>")
    mbox = tmp_path / "series.mbox"
    mbox.write_bytes(
        subprocess.run(
            ["git", "-C", str(fake_tree), "format-patch", "--stdout", "-1"],
            capture_output=True,
            check=True,
        ).stdout
    )
    git(fake_tree, "reset", "-q", "--hard", "HEAD~1")
    table = tmp_path / "arches.toml"
    table.write_text(ARCHES)
    shards = []
    for arch in ("arm64", "s390"):
        out = tmp_path / f"{arch}.json"
        options = BuildOptions(
            tree=fake_tree, arches=(arch,), cache_dir=tmp_path / "cache", arch_table=str(table)
        )
        series = assemble(read_sources([Source("series.mbox", mbox)]))
        from reviewtool.render import render
        from reviewtool.report import make_report

        result = build_series(series, options)
        report = make_report(("series.mbox",), series, build_findings(result), (), builds=result)
        out.write_text(render(report, "json"))
        shards.append(out)
    merged = run_cli(capsys, "merge", *map(str, shards), "--fail-on", "warning")
    assert merged.code == 1  # the arm64 shard's new warning
    data = json.loads(merged.out)
    assert {(c["patch"], c["arch"], c["status"]) for c in data["builds"]} == {
        (0, "arm64", "ok"),
        (1, "arm64", "new_warnings"),
        (0, "s390", "ok"),
        (1, "s390", "ok"),
    }
    assert [f["rule"] for f in data["findings"]] == ["build"]
    assert data["build"]["arches"] == ["arm64", "s390"]
    # Every other format renders the merged shards, with the series read again: the same
    # build matrix and findings as one unsharded run, the same SARIF fingerprints.
    options = BuildOptions(
        tree=fake_tree,
        arches=("arm64", "s390"),
        cache_dir=tmp_path / "cache",
        arch_table=str(table),
    )
    series = assemble(read_sources([Source("series.mbox", mbox)]))
    result = build_series(series, options)
    whole = make_report(("series.mbox",), series, build_findings(result), (), builds=result)
    markdown = run_cli(capsys, "merge", *map(str, shards), "--series", str(mbox), "-f", "markdown")
    assert markdown.code == 0  # a new warning, below the default --fail-on error
    assert build_lines(whole)[1:] == [
        line for line in markdown.out.splitlines() if line in build_lines(whole)[1:]
    ]
    sarif = run_cli(capsys, "merge", *map(str, shards), "--series", str(mbox), "-f", "sarif")
    prints = [r["partialFingerprints"] for r in json.loads(sarif.out)["runs"][0]["results"]]
    direct = json.loads(render(whole, "sarif"))["runs"][0]["results"]
    assert prints == [r["partialFingerprints"] for r in direct] and len(prints) == 1
    other = tmp_path / "other.mbox"
    other.write_bytes(mbox.read_bytes().replace(b"two arches", b"three arches"))
    wrong = run_cli(capsys, "merge", *map(str, shards), "--series", str(other), "-f", "text")
    assert wrong.code == 2 and "not the series" in wrong.err
    assert run_cli(capsys, "merge", *map(str, shards), "-f", "markdown").code == 2
    # The series checks' own report merges in, before or after the shards.
    checks = tmp_path / "checks.json"
    audit = run_cli(
        capsys, "audit", str(mbox), "-f", "json", "-o", str(checks), "--fail-on", "never"
    )
    assert audit.code == 0
    assert json.loads(checks.read_text())["findings"], "the series checks find something"
    for order in ([checks, *shards], [*shards, checks]):
        both = json.loads(run_cli(capsys, "merge", *map(str, order), "--fail-on", "never").out)
        assert both["build"]["arches"] == ["arm64", "s390"] and len(both["builds"]) == 4
        rules = {f["rule"] for f in both["findings"]}
        assert "build" in rules and rules >= {
            f["rule"] for f in json.loads(checks.read_text())["findings"]
        }
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert run_cli(capsys, "merge", str(bad)).code == 2


def test_guard_symbol_follows_kbuild_lists(tmp_path: Path) -> None:
    from reviewtool.kbuild.makefiles import guard_symbol

    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "Makefile").write_text(
        "mmu-y := nommu.o\n"
        "mmu-$(CONFIG_MMU) := highmem.o memory.o \\\n\t\t   mincore.o\n"
        "obj-y := filemap.o $(mmu-y)\n"
        "obj-$(CONFIG_HUGETLBFS) += hugetlb.o\n"
    )
    (tmp_path / "fs").mkdir()
    (tmp_path / "fs" / "Makefile").write_text(
        "obj-$(CONFIG_HUGETLBFS) += hugetlbfs.o\nhugetlbfs-objs := inode.o\n"
    )
    assert guard_symbol(tmp_path, "mm/memory.o") == "MMU"
    assert guard_symbol(tmp_path, "mm/mincore.o") == "MMU"  # after a line continuation
    assert guard_symbol(tmp_path, "mm/filemap.o") == ""
    assert guard_symbol(tmp_path, "mm/hugetlb.o") == "HUGETLBFS"
    assert guard_symbol(tmp_path, "fs/inode.o") == "HUGETLBFS"
    assert guard_symbol(tmp_path, "mm/absent.o") is None
