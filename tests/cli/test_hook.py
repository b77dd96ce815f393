"""`reviewtool hook`: what the install, uninstall and run commands print, and the refusal git
send-email shows when the outgoing series has findings at or above --fail-on."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewtool.errors import ExitCode
from tests.gitrepos import commit_file, git, make_repo
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]
REFUSAL_END = (
    "reviewtool: not sending; fix the series, change `git config reviewtool.failOn`, or skip "
    "this check with `git send-email --no-validate`"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "linux")


def outgoing(repo: Path, out: Path) -> list[str]:
    """The patch files `git format-patch base..` writes, as git send-email passes them."""
    return git(repo, "format-patch", "-o", str(out), "base..").split()


def test_install_and_uninstall_in_the_current_directory(
    repo: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    path = repo / ".git" / "hooks" / "sendemail-validate"
    installed = run_cli(capsys, "hook", "install", "--fail-on", "warning")
    assert installed.code == ExitCode.OK
    assert installed.out == f"installed {path}\ngit config reviewtool.failOn warning\n"
    assert path.is_file()
    removed = run_cli(capsys, "hook", "uninstall")
    assert (removed.code, removed.out) == (ExitCode.OK, f"removed {path}\n")
    assert not path.exists()
    again = run_cli(capsys, "hook", "uninstall")
    assert (again.code, again.out) == (ExitCode.OK, f"no reviewtool hook at {path}\n")


def test_the_refusal_lists_each_finding_at_or_above_fail_on(
    repo: Path, tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_file(repo, "mm/f1.c", "int f1; \n", "mm: add f1", signoff=False)
    commit_file(repo, "mm/f2.c", "int f2;\n", "mm: add f2")
    files = outgoing(repo, tmp_path / "out")
    monkeypatch.chdir(repo)
    result = run_cli(capsys, "hook", "run", "sendemail-validate", files[0], "--fail-on", "warning")
    assert (result.code, result.out) == (ExitCode.FINDINGS, "")
    lines = result.err.splitlines()
    assert lines[0].startswith("reviewtool: note: the patches carry no base-commit")
    assert lines[1:] == [
        "reviewtool: the outgoing series (2 files) has 3 findings at or above warning:",
        "  warning series-no-cover: a series of 2 patches has no cover letter (0/2)",
        "  patch 1: error signoff-missing: no Signed-off-by: line",
        "  patch 1: warning whitespace-trailing: mm/f1.c:1: trailing whitespace",
        REFUSAL_END,
    ]


def test_one_file_one_finding_in_the_singular(
    repo: Path, tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_file(repo, "mm/f1.c", "int f1; \n", "mm: add f1", signoff=False)
    (single,) = outgoing(repo, tmp_path / "out")
    monkeypatch.chdir(repo)
    result = run_cli(capsys, "hook", "run", "sendemail-validate", single)
    assert result.code == ExitCode.FINDINGS  # the default --fail-on is error
    assert "reviewtool: the outgoing series (1 file) has 1 finding at or above error:\n" in (
        result.err
    )
    assert "whitespace-trailing" not in result.err  # a warning, below the threshold
    assert result.err.endswith(REFUSAL_END + "\n")


def test_a_clean_series_is_sent_without_a_word_but_the_notes(
    repo: Path, tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_file(repo, "mm/f1.c", "int f1;\n", "mm: add f1")
    (single,) = outgoing(repo, tmp_path / "out")
    monkeypatch.chdir(repo)
    result = run_cli(capsys, "hook", "run", "sendemail-validate", single)
    assert (result.code, result.out) == (ExitCode.OK, "")
    assert result.err.count("\n") == 1
    assert result.err.startswith("reviewtool: note: the patches carry no base-commit")


def test_hook_run_outside_a_repository_is_a_usage_error(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    patch = plain / "0001.patch"
    patch.write_text("From: a@b\nSubject: [PATCH] x\n\nbody\n")
    monkeypatch.chdir(plain)
    result = run_cli(capsys, "hook", "run", "sendemail-validate", str(patch))
    assert (result.code, result.out) == (ExitCode.INPUT, "")
    assert result.err.count("\n") == 1 and result.err.startswith("reviewtool: error: ")
