"""Reports the renderers' tests read: a small built series, and the demo series (fixtures/demo)
alone, on its tree (fixtures/tree), and with a build matrix."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from reviewtool.analysis.treeaudit import TreeOptions
from reviewtool.findings import BuildFacts, Finding, Severity, sort_findings
from reviewtool.intake.mail import Source
from reviewtool.report import Report
from reviewtool.review import AuditOptions, run
from tests.builders import AUTHOR, Msg, mbox, patch_body, series
from tests.conftest import FIXTURES

DEMO = FIXTURES / "demo" / "demo.mbox"
DEMO_RULE = FIXTURES / "demo" / "pte-demo.toml"
REPRODUCE = "make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O=out mm/pgtable_demo.o"


@pytest.fixture
def report() -> Report:
    msgs = series(3)
    msgs[2].body = patch_body("mm/f2.c", ["int a; "], trailers="Signed-off-by: Bob <bob@x.org>")
    msgs[3].body = patch_body("mm/f3.c", trailers=f"Fixes: 1234 (x)\nSigned-off-by: {AUTHOR}")
    msgs.append(Msg("Re: [PATCH 1/3] mm: thing 1", "LGTM\n", "re@x", in_reply_to="s-1@example.org"))
    return run([Source("t.mbox", data=mbox(msgs))], AuditOptions())


@pytest.fixture
def demo() -> Report:
    """The demo's series checks: three warnings, on patches 2 and 3."""
    return run([Source("demo.mbox", DEMO)], AuditOptions())


@pytest.fixture
def demo_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "demo-tree"
    bundle = FIXTURES / "tree" / "demo-tree.bundle"
    subprocess.run(["git", "clone", "-q", str(bundle), str(tree)], check=True)
    return tree


def on_tree(tree: Path, data: bytes, base: str | None = None) -> Report:
    """The series in data audited on tree for the demo's contract rule, without a cache."""
    options = TreeOptions(tree=tree, base=base, rules=(str(DEMO_RULE),), cache_dir=None)
    return run([Source("demo.mbox", data=data)], AuditOptions(tree=options))


@pytest.fixture
def first_patch_on_tree(demo_tree: Path) -> Report:
    """The cover letter and patch 1 alone on the demo tree: patch 1 lets a marker pte reach five
    call sites (three root causes, with their paths and further uses as evidence)."""
    messages = DEMO.read_bytes().split(b"From mboxrd@z")
    return on_tree(demo_tree, b"From mboxrd@z".join(messages[:3]))


@pytest.fixture
def demo_with_builds(demo: Report) -> Report:
    """The demo with a build matrix: a new warning of patch 2 on arm64; s390 not built."""
    from reviewtool.git import TreeState
    from reviewtool.kbuild.builder import BuildCell, BuildResult
    from reviewtool.kbuild.diagnostics import Diagnostic

    warning = Diagnostic(
        "mm/pgtable_demo.c", 92, 7, "warning", "-Wunused-variable", "unused variable 'x'",
        "pgtable_demo_zap_pte_range",
    )  # fmt: skip
    why = "no toolchain for s390: install gcc-s390x-linux-gnu"
    cells = [BuildCell(0, "arm64", "ok", ("mm/pgtable_demo.o",), toolchain="gcc")]
    cells += [BuildCell(n, "s390", "not_built", (), reason=why) for n in range(4)]
    cells += [
        BuildCell(1, "arm64", "ok", ("mm/pgtable_demo.o",), toolchain="gcc"),
        BuildCell(2, "arm64", "new_warnings", ("mm/pgtable_demo.o",), (warning,),
                  toolchain="gcc", command=REPRODUCE),
        BuildCell(3, "arm64", "preexisting", ("mm/pgtable_demo.o",), preexisting_count=1,
                  toolchain="gcc"),
    ]  # fmt: skip
    state = TreeState(path="linux", base="45d0b10e97990527974819b768e3acfad1bf66cb",
                      base_source="base-commit", applied=())  # fmt: skip
    build = Finding(
        rule="build", severity=Severity.WARNING, patch=2, path=warning.path, line=92, column=7,
        message="arm64 (gcc): warning: unused variable 'x' [-Wunused-variable]",
        build=BuildFacts("arm64", "gcc", warning.identity, REPRODUCE),
    )  # fmt: skip
    return dataclasses.replace(
        demo,
        findings=sort_findings([*demo.findings, build]),
        builds=BuildResult(state=state, cells=tuple(cells), arches=("arm64", "s390")),
    )
