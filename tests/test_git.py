"""Tree mode on a real git repository: the user's repository is never modified, nothing is left
behind, and patches that do not apply are reported hunk by hunk."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from reviewtool.analysis.treeaudit import TreeOptions
from reviewtool.errors import ApplyError, ToolchainError
from reviewtool.git import Workspace, environment
from reviewtool.intake.mail import Source
from reviewtool.review import AuditOptions, run
from tests.conftest import FIXTURES

DEMO = FIXTURES / "demo" / "demo.mbox"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def user_tree(tmp_path: Path) -> Path:
    """A clone of the demo tree with work in progress: a staged change, an unstaged change,
    an untracked file, a stash entry and a second branch."""
    repo = tmp_path / "linux"
    subprocess.run(
        ["git", "clone", "-q", str(FIXTURES / "tree" / "demo-tree.bundle"), str(repo)], check=True
    )
    git(repo, "config", "user.name", "U Ser")
    git(repo, "config", "user.email", "user@example.org")
    git(repo, "branch", "topic")
    (repo / "Documentation" / "demo.rst").write_text("stashed work\n")
    git(repo, "stash", "-q")
    (repo / "mm" / "Makefile").write_text((repo / "mm" / "Makefile").read_text() + "# staged\n")
    git(repo, "add", "mm/Makefile")
    (repo / "README.local").write_text("untracked\n")
    with (repo / "mm" / "pgtable_demo.c").open("a") as handle:
        handle.write("/* unstaged */\n")
    return repo


def snapshot(repo: Path) -> dict[str, str]:
    """Everything of the user's repository that must stay as it was."""
    git_dir = repo / ".git"
    files = sorted(p for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts)
    return {
        "status": git(repo, "status", "--porcelain=v2", "--branch"),
        "refs": git(repo, "for-each-ref"),
        "stash": git(repo, "stash", "list"),
        "index": hashlib.sha256((git_dir / "index").read_bytes()).hexdigest(),
        "objects": git(repo, "count-objects", "-v"),
        "worktrees": git(repo, "worktree", "list", "--porcelain"),
        "config": (git_dir / "config").read_text(),
        "files": "\n".join(f"{p}:{hashlib.sha256(p.read_bytes()).hexdigest()}" for p in files),
    }


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR for the run, to see that the workspace leaves nothing behind."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def _audit(tree: Path, **tree_options: object) -> object:
    options = TreeOptions(tree=tree, cache_dir=None, **tree_options)  # type: ignore[arg-type]
    return run([Source("demo.mbox", DEMO)], AuditOptions(tree=options))


def test_audit_leaves_the_users_repository_alone(user_tree: Path, private_tmp: Path) -> None:
    before = snapshot(user_tree)
    report = _audit(user_tree, rules=(str(FIXTURES / "demo" / "pte-demo.toml"),))
    assert snapshot(user_tree) == before
    assert list(private_tmp.iterdir()) == []
    tree = report.tree  # type: ignore[attr-defined]
    assert tree.state.base_source == "base-commit"
    assert tree.state.base == "45d0b10e97990527974819b768e3acfad1bf66cb"
    assert [a.status for a in tree.state.applied] == ["ok", "ok", "ok"]
    # One commit per patch, each the parent of the next, with the patch's author.
    commits = [a.commit for a in tree.state.applied]
    assert len(set(commits)) == 3


def test_failed_apply_is_reported_by_hunk_and_leaves_nothing(
    user_tree: Path, private_tmp: Path
) -> None:
    # Move the tree on so that patch 2's context no longer matches.
    source = user_tree / "mm" / "pgtable_demo.c"
    git(user_tree, "stash", "-q")  # keep the test's own edits out of the commit
    text = source.read_text().replace(
        "swp_entry_t entry = pte_demo_to_swp_entry(pte);",
        "swp_entry_t entry = pte_demo_to_swp_entry(pte); /* moved on */",
    )
    source.write_text(text)
    git(user_tree, "commit", "-qam", "change a line patch 2 removes")
    git(user_tree, "stash", "pop", "-q")
    before = snapshot(user_tree)
    report = _audit(user_tree, base="HEAD", rules=(str(FIXTURES / "demo" / "pte-demo.toml"),))
    applied = report.tree.state.applied  # type: ignore[attr-defined]
    assert [a.status for a in applied][:2] == ["ok", "failed"]
    failure = applied[1].failures[0]
    assert failure.path == "mm/pgtable_demo.c"
    assert failure.hunk >= 1
    assert "context does not match" in failure.reason
    rules = {(f.rule, f.patch) for f in report.findings}  # type: ignore[attr-defined]
    assert ("apply-failed", 2) in rules and ("tree-partial", 2) in rules
    assert snapshot(user_tree) == before
    assert list(private_tmp.iterdir()) == []
    with pytest.raises(ApplyError, match=r"patch 2 does not apply: mm/pgtable_demo\.c hunk"):
        _audit(
            user_tree,
            base="HEAD",
            strict_apply=True,
            rules=(str(FIXTURES / "demo" / "pte-demo.toml"),),
        )
    assert snapshot(user_tree) == before
    assert list(private_tmp.iterdir()) == []


def test_interrupt_leaves_nothing(
    user_tree: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(user_tree)

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Workspace, "_commit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _audit(user_tree, rules=(str(FIXTURES / "demo" / "pte-demo.toml"),))
    assert snapshot(user_tree) == before
    assert list(private_tmp.iterdir()) == []


def test_not_a_git_tree(tmp_path: Path) -> None:
    from reviewtool.errors import InputError

    with pytest.raises(InputError, match="not a git tree"):
        _audit(tmp_path)


def test_fuzzy_apply_names_the_hunks_that_needed_help(user_tree: Path, private_tmp: Path) -> None:
    # Move the tree on in a context line of patch 2's first hunk only: the patch no longer
    # applies cleanly, but a 3-way merge does it.
    source = user_tree / "mm" / "pgtable_demo.c"
    git(user_tree, "stash", "-q")
    old = "\t\tif (!pte_demo_is_swap(pte))\n\t\t\tcontinue;\n"
    assert source.read_text().count(old) == 1
    source.write_text(
        source.read_text().replace(
            old, "\t\tif (!pte_demo_is_swap(pte)) /* moved */\n\t\t\tcontinue;\n"
        )
    )
    git(user_tree, "commit", "-qam", "change a context line of patch 2")
    git(user_tree, "stash", "pop", "-q")
    report = _audit(user_tree, base="HEAD", rules=(str(FIXTURES / "demo" / "pte-demo.toml"),))
    applied = report.tree.state.applied  # type: ignore[attr-defined]
    assert [a.status for a in applied] == ["ok", "fuzzy", "ok"]
    fuzzy = applied[1]
    assert fuzzy.method == "3-way merge"
    assert [(h.path, h.hunk, h.line) for h in fuzzy.assisted] == [("mm/pgtable_demo.c", 1, 22)]
    assert "context does not match" in fuzzy.assisted[0].reason
    (finding,) = [f for f in report.findings if f.rule == "apply-fuzzy"]  # type: ignore[attr-defined]
    assert finding.patch == 2 and (finding.path, finding.line) == ("mm/pgtable_demo.c", 22)
    assert finding.message.startswith(
        "applied by 3-way merge, not cleanly: mm/pgtable_demo.c hunk 1 (@@ -22 @@): "
    )
    assert list(private_tmp.iterdir()) == []


def test_private_repository_ignores_the_callers_git_location(
    user_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git sets these when it runs a hook; the private repository must not follow them.
    elsewhere = tmp_path / "elsewhere"
    subprocess.run(["git", "init", "-q", str(elsewhere)], check=True)
    monkeypatch.setenv("GIT_DIR", str(elsewhere / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(elsewhere / ".git" / "index"))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(elsewhere / ".git" / "objects"))
    env = environment(git_dir=tmp_path / "ours.git", index=tmp_path / "index")
    assert env is not None
    assert env["GIT_DIR"] == str(tmp_path / "ours.git")
    assert env["GIT_INDEX_FILE"] == str(tmp_path / "index")
    assert "GIT_OBJECT_DIRECTORY" not in env
    assert not {"GIT_DIR", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"} & set(environment())
    with Workspace(user_tree) as workspace:
        head = workspace.resolve("HEAD")
        assert head is not None
        tree = workspace.git("rev-parse", f"{head}^{{tree}}").stdout.decode().strip()
        with workspace.blobs() as blobs:
            found = blobs.read(head, "mm/Makefile")
        assert found is not None and len(tree) == 40


def test_blob_reader_obeys_the_run_deadline(user_tree: Path) -> None:
    import time

    from reviewtool import proc
    from reviewtool.errors import DeadlineExceeded

    with Workspace(user_tree) as workspace:
        head = workspace.resolve("HEAD")
        assert head is not None
        with proc.deadline(0.5), workspace.blobs() as blobs:
            assert blobs.read(head, "mm/Makefile") is not None
            time.sleep(0.6)
            with pytest.raises(DeadlineExceeded):
                blobs.read(head, "mm/Makefile")
        with workspace.blobs() as blobs:
            proc.kill_all()  # what an expired --timeout does to every command still running
            with pytest.raises(ToolchainError, match="stopped answering"):
                blobs.read(head, "mm/Makefile")
