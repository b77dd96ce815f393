from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = Path(os.environ.get("REVIEWTOOL_SHARED", ROOT.parent / "shared"))
RFC_MBOX = SHARED / "series" / "uffd-wp-rfc-v1.mbox"
FAKELINUX = ROOT / "tests" / "fakelinux"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def fake_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tests/fakelinux's kernel-shaped tree as a git repository of one commit, with its fake
    cross compilers first on PATH."""
    tree = tmp_path / "linux"
    shutil.copytree(FAKELINUX / "tree", tree)
    git(tree, "init", "-q")
    git(tree, "config", "user.name", "Ana Lima")
    git(tree, "config", "user.email", "ana.lima@example.com")
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "base")
    monkeypatch.setenv("PATH", f"{FAKELINUX / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("LC_ALL", "C")
    return tree


@pytest.fixture(autouse=True)
def hermetic_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the user's configuration: HOME and XDG dirs live in tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("REVIEWTOOL_DEBUG", raising=False)


@pytest.fixture
def rfc_mbox() -> Path:
    """The real 30-patch RFC, read from the shared directory beside the project."""
    if not RFC_MBOX.is_file():
        pytest.skip(f"real series not available ({RFC_MBOX})")
    return RFC_MBOX
