"""The engine's entry point: one run applies the series once, for the tree audit and the
builds alike."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from reviewtool.analysis.treeaudit import TreeOptions
from reviewtool.git import Workspace
from reviewtool.intake.mail import Source
from reviewtool.kbuild.builder import BuildOptions
from reviewtool.progress import APPLY, BUILD, Recorder
from reviewtool.review import AuditOptions, run
from tests.conftest import git
from tests.kbuild.test_builder import ARCHES


def _series(tree: Path, count: int) -> tuple[str, bytes]:
    """count patches, each adding a compiler warning to mm/memory.c, then the tree reset."""
    base = git(tree, "rev-parse", "HEAD").strip()
    for number in range(1, count + 1):
        with (tree / "mm" / "memory.c").open("a") as handle:
            handle.write(f"/* FAKE_WARNING(unused variable 'x{number}') */\n")
        git(
            tree,
            "commit",
            "-qam",
            f"mm: change {number}\n\nSigned-off-by: Ana Lima <ana.lima@example.com>",
        )
    mbox = subprocess.run(
        ["git", "-C", str(tree), "format-patch", "--stdout", "--cover-letter", f"{base}..HEAD"],
        capture_output=True,
        check=True,
    ).stdout
    git(tree, "reset", "-q", "--hard", base)
    return base, mbox


def test_tree_audit_and_builds_share_one_application(
    fake_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, mbox = _series(fake_tree, 3)
    workspaces: list[Path] = []
    applied: list[int] = []
    enter, apply_one = Workspace.__enter__, Workspace._apply_one

    def counting_enter(self: Workspace) -> Workspace:
        workspaces.append(self.tree)
        return enter(self)

    def counting_apply(self: Workspace, patch, parent):  # type: ignore[no-untyped-def]
        applied.append(patch.number)
        return apply_one(self, patch, parent)

    monkeypatch.setattr(Workspace, "__enter__", counting_enter)
    monkeypatch.setattr(Workspace, "_apply_one", counting_apply)
    table = tmp_path / "arches.toml"
    table.write_text(ARCHES)
    options = AuditOptions(
        tree=TreeOptions(tree=fake_tree, base=base, cache_dir=tmp_path / "cache"),
        build=BuildOptions(
            tree=fake_tree,
            base=base,
            arches=("arm64",),
            cache_dir=tmp_path / "cache",
            arch_table=str(table),
            timeout=60.0,
        ),
    )
    recorder = Recorder()
    options = dataclasses.replace(options, progress=recorder)
    report = run([Source("series.mbox", data=mbox)], options)
    assert workspaces == [fake_tree]
    # What a progress bar shows: patches applied k/N, build cells done of all (the base and
    # three patches on one architecture), each naming the step.
    applying = recorder.tasks[APPLY]
    assert (applying.total, applying.done) == (3, 3)
    assert applying.details == ["patch 1: ok", "patch 2: ok", "patch 3: ok"]
    building = recorder.tasks[BUILD]
    assert (building.total, building.done) == (4, 4)
    assert building.details[-1] == "patch 3 on arm64"
    assert "building patch 3 on 1 architectures" in recorder.messages
    assert applied == [1, 2, 3]
    assert report.tree is not None and report.builds is not None
    # Both stages saw the same commits.
    assert report.tree.state == report.builds.state
    warned = sorted(f.patch or 0 for f in report.findings if f.rule == "build")
    assert warned == [1, 2, 3]


def test_a_build_on_another_tree_applies_the_series_there(
    fake_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, mbox = _series(fake_tree, 1)
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(fake_tree), str(other)], check=True)
    workspaces: list[Path] = []
    enter = Workspace.__enter__

    def counting_enter(self: Workspace) -> Workspace:
        workspaces.append(self.tree)
        return enter(self)

    monkeypatch.setattr(Workspace, "__enter__", counting_enter)
    table = tmp_path / "arches.toml"
    table.write_text(ARCHES)
    options = AuditOptions(
        tree=TreeOptions(tree=fake_tree, base=base, cache_dir=tmp_path / "cache"),
        build=BuildOptions(
            tree=other,
            base=base,
            arches=("arm64",),
            cache_dir=tmp_path / "cache",
            arch_table=str(table),
            timeout=60.0,
        ),
    )
    run([Source("series.mbox", data=mbox)], options)
    assert workspaces == [fake_tree, other]
