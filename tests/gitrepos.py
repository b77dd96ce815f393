"""Small real git repositories for the tests of `reviewtool check` and the send-email hook."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

AUTHOR = "Ada Lovelace"
EMAIL = "ada@example.org"
SIGNOFF = f"Signed-off-by: {AUTHOR} <{EMAIL}>"


def git(repo: Path, *args: str, check: bool = True) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=check
    ).stdout


def make_repo(path: Path) -> Path:
    """A repository with one base commit (tagged `base`) on branch master."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "master")
    git(path, "config", "user.name", AUTHOR)
    git(path, "config", "user.email", EMAIL)
    (path / "mm").mkdir()
    (path / "mm" / "core.c").write_text("int core(void)\n{\n\treturn 0;\n}\n")
    git(path, "add", "mm/core.c")
    git(path, "commit", "-q", "-m", "mm: core")
    git(path, "tag", "base")
    return path


def commit_file(repo: Path, name: str, text: str, subject: str, *, signoff: bool = True) -> str:
    """Write name, commit it with subject (signed off or not), return the commit id."""
    target = repo / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    git(repo, "add", name)
    message = f"{subject}\n\nWhy {name} changes.\n"
    if signoff:
        message += f"\n{SIGNOFF}\n"
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def clean_series(repo: Path, count: int = 2) -> None:
    for number in range(1, count + 1):
        commit_file(repo, f"mm/f{number}.c", f"int f{number};\n", f"mm: add f{number}")


def snapshot(repo: Path) -> dict[str, str]:
    """Everything of the user's repository that a read-only command must leave as it was."""
    git_dir = Path(git(repo, "rev-parse", "--absolute-git-dir").strip())
    files = sorted(p for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts)
    return {
        "head": git(repo, "rev-parse", "HEAD")
        + git(repo, "symbolic-ref", "-q", "HEAD", check=False),
        "status": git(repo, "status", "--porcelain=v2", "--branch", "--untracked-files=all"),
        "refs": git(repo, "for-each-ref"),
        "stash": git(repo, "stash", "list"),
        "index": hashlib.sha256((git_dir / "index").read_bytes()).hexdigest(),
        "objects": git(repo, "count-objects", "-v"),
        "config": (git_dir / "config").read_text(),
        "files": "\n".join(f"{p}:{hashlib.sha256(p.read_bytes()).hexdigest()}" for p in files),
    }
