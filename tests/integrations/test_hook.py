"""The sendemail-validate hook: installing it never loses a user's hook, it audits the whole
outgoing series once, and real `git send-email` refuses to send what it flags."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewtool.errors import ExitCode
from reviewtool.integrations import hook
from tests.gitrepos import EMAIL, clean_series, commit_file, git, make_repo
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]
USER_HOOK = "#!/bin/sh\necho user hook\nexit 0\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "linux")


def hook_path(repo: Path) -> Path:
    return repo / ".git" / "hooks" / "sendemail-validate"


def format_patches(repo: Path, out: Path, *args: str) -> list[Path]:
    listed = git(repo, "format-patch", "-o", str(out), *args)
    return [Path(line) for line in listed.splitlines()]


# Installing and removing


def test_install_writes_an_executable_marked_hook(repo: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "hook", "install", "-C", str(repo))
    assert result.code == ExitCode.OK
    path = hook_path(repo)
    assert result.out == f"installed {path}\n"
    text = path.read_text()
    assert hook.MARKER in text
    assert f'{sys.executable} -m reviewtool hook run sendemail-validate "$@"' in text
    assert path.stat().st_mode & stat.S_IXUSR
    again = run_cli(capsys, "hook", "install", "-C", str(repo))
    assert again.code == ExitCode.OK and again.out.startswith("updated ")


def test_install_honours_core_hooks_path(repo: Path, capsys: Capture) -> None:
    git(repo, "config", "core.hooksPath", "shared-hooks")
    assert run_cli(capsys, "hook", "install", "-C", str(repo)).code == ExitCode.OK
    assert hook.is_ours(repo / "shared-hooks" / "sendemail-validate")
    assert not hook_path(repo).exists()


def test_a_users_hook_is_never_overwritten_or_lost(repo: Path, capsys: Capture) -> None:
    path = hook_path(repo)
    path.write_text(USER_HOOK)
    path.chmod(0o755)
    refused = run_cli(capsys, "hook", "install", "-C", str(repo))
    assert refused.code == ExitCode.INPUT
    assert refused.err.count("\n") == 1 and "not reviewtool's" in refused.err
    assert path.read_text() == USER_HOOK
    forced = run_cli(capsys, "hook", "install", "-C", str(repo), "--force")
    backup = path.with_name("sendemail-validate.reviewtool-backup")
    assert forced.code == ExitCode.OK and f"kept the existing hook as {backup}" in forced.out
    assert backup.read_text() == USER_HOOK and hook.is_ours(path)
    removed = run_cli(capsys, "hook", "uninstall", "-C", str(repo))
    assert removed.code == ExitCode.OK and "restored" in removed.out
    assert path.read_text() == USER_HOOK and not backup.exists()


def test_force_never_overwrites_an_earlier_backup(repo: Path, capsys: Capture) -> None:
    path = hook_path(repo)
    backup = path.with_name("sendemail-validate.reviewtool-backup")
    backup.write_text("first\n")
    path.write_text(USER_HOOK)
    result = run_cli(capsys, "hook", "install", "-C", str(repo), "--force")
    assert result.code == ExitCode.INPUT and "a backup already exists" in result.err
    assert backup.read_text() == "first\n" and path.read_text() == USER_HOOK


def test_uninstall_leaves_a_users_hook_alone(repo: Path, capsys: Capture) -> None:
    path = hook_path(repo)
    path.write_text(USER_HOOK)
    result = run_cli(capsys, "hook", "uninstall", "-C", str(repo))
    assert result.code == ExitCode.INPUT and "not reviewtool's" in result.err
    assert path.read_text() == USER_HOOK
    path.unlink()
    nothing = run_cli(capsys, "hook", "uninstall", "-C", str(repo))
    assert nothing.code == ExitCode.OK and nothing.out.startswith("no reviewtool hook")


def test_install_fail_on_stores_git_config(repo: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "hook", "install", "-C", str(repo), "--fail-on", "warning")
    assert result.code == ExitCode.OK
    assert git(repo, "config", "--local", "reviewtool.failOn").strip() == "warning"


# Which files are the outgoing series


def test_the_series_is_the_files_of_one_revision(repo: Path, tmp_path: Path) -> None:
    clean_series(repo, 3)
    out = tmp_path / "outgoing"
    v1 = format_patches(repo, out, "--cover-letter", "base..")
    v2 = format_patches(repo, out, "--cover-letter", "-v2", "base..")
    (out / "notes.txt").write_text("not a patch\n")
    single = format_patches(repo, out, "-1", "HEAD", "--subject-prefix=PATCH net")
    assert hook.outgoing_series(v1[2]) == tuple(v1)
    assert hook.outgoing_series(v2[0]) == tuple(v2)
    assert hook.outgoing_series(single[0]) == (single[0],)
    assert hook.outgoing_series(out / "notes.txt") == (out / "notes.txt",)


def test_validate_audits_once_per_series(repo: Path, tmp_path: Path) -> None:
    clean_series(repo, 2)
    commit_file(repo, "mm/f3.c", "int f3;\n", "mm: add f3", signoff=False)
    files = format_patches(repo, tmp_path / "out", "--base=base", "base..")
    options = hook.ValidateOptions(cache_dir=None)
    first = hook.validate(repo, files[0], options)
    assert not first.cached and first.first
    assert [(f.rule, f.patch) for f in first.findings] == [
        ("series-no-cover", None),
        ("signoff-missing", 3),
    ]
    later = hook.validate(repo, files[2], options)
    assert later.cached and not later.first and later.findings == first.findings
    cache = repo / ".git" / "reviewtool" / "sendemail-validate"
    assert len(list(cache.glob("*.json"))) == 1
    files[1].write_text(files[1].read_text().replace("int f2;", "int f2 = 2;"))
    assert not hook.validate(repo, files[2], options).cached


def test_base_commit_decides_the_tree_audit(repo: Path, tmp_path: Path) -> None:
    clean_series(repo, 1)
    options = hook.ValidateOptions(cache_dir=None)
    without = format_patches(repo, tmp_path / "a", "base..")
    assert (
        "git config format.useAutoBase whenAble"
        in hook.validate(repo, without[0], options).notes[0]
    )
    known = format_patches(repo, tmp_path / "b", "--base=base", "base..")
    assert hook.validate(repo, known[0], options).notes == ()
    unknown = known[0].read_text().replace(git(repo, "rev-parse", "base").strip(), "1" * 40)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "0001.patch").write_text(unknown)
    notes = hook.validate(repo, tmp_path / "c" / "0001.patch", options).notes
    assert "base-commit 111111111111 is not in this repository" in notes[0]


def test_hook_run_prints_the_findings_and_exits_1(
    repo: Path, tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_file(repo, "mm/f1.c", "int f1;\n", "mm: add f1", signoff=False)
    files = format_patches(repo, tmp_path / "out", "base..")
    monkeypatch.chdir(repo)
    result = run_cli(capsys, "hook", "run", "sendemail-validate", str(files[0]))
    assert result.code == ExitCode.FINDINGS and result.out == ""
    assert "reviewtool: note: the patches carry no base-commit" in result.err
    assert "  patch 1: error signoff-missing: no Signed-off-by: line" in result.err
    never = run_cli(
        capsys, "hook", "run", "sendemail-validate", str(files[0]), "--fail-on", "never"
    )
    assert never.code == ExitCode.OK
    other = run_cli(capsys, "hook", "run", "pre-commit", str(files[0]))
    assert other.code == ExitCode.INPUT and "not a hook reviewtool provides" in other.err


def test_hook_run_as_newer_gits_call_it(
    repo: Path, tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git >= 2.43 passes an SMTP headers file as $2 and numbers the files in the environment:
    the notes are said once, for file 1."""
    clean_series(repo, 2)
    files = format_patches(repo, tmp_path / "out", "base..")
    headers = tmp_path / "headers"
    headers.write_text("From: Ada Lovelace <ada@example.org>\nTo: list@example.org\n")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("GIT_SENDEMAIL_FILE_TOTAL", "2")
    for counter, path in enumerate(files, start=1):
        monkeypatch.setenv("GIT_SENDEMAIL_FILE_COUNTER", str(counter))
        result = run_cli(capsys, "hook", "run", "sendemail-validate", str(path), str(headers))
        assert result.code == ExitCode.OK
        assert ("no base-commit" in result.err) == (counter == 1)


def test_hook_run_fail_on_option_beats_git_config(
    repo: Path, tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_file(repo, "mm/f1.c", "int f1; \n", "mm: add f1")
    files = format_patches(repo, tmp_path / "out", "--base=base", "base..")
    monkeypatch.chdir(repo)
    run = ("hook", "run", "sendemail-validate", str(files[0]))
    assert run_cli(capsys, *run).code == ExitCode.OK
    git(repo, "config", "reviewtool.failOn", "warning")
    refused = run_cli(capsys, *run)
    assert refused.code == ExitCode.FINDINGS and "whitespace-trailing" in refused.err
    assert run_cli(capsys, *run, "--fail-on", "error").code == ExitCode.OK


# Real git send-email, delivering to an SMTP server on loopback


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


def send_email(repo: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "git",
            "send-email",
            "--to=list@example.org",
            f"--from=Ada Lovelace <{EMAIL}>",
            "--smtp-server=127.0.0.1",
            f"--smtp-server-port={port}",
            "--confirm=never",
            "--suppress-cc=all",
            *args,
        ],
        cwd=repo,
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def subjects(mailbox: Mailbox) -> list[str]:
    import email

    return [str(email.message_from_bytes(m)["Subject"]) for m in mailbox.messages]


@pytest.fixture
def hooked(repo: Path, capsys: Capture) -> Path:
    assert run_cli(capsys, "hook", "install", "-C", str(repo)).code == ExitCode.OK
    git(repo, "checkout", "-q", "-b", "topic", "--track", "master")
    git(repo, "config", "format.useAutoBase", "whenAble")  # base-commit: from the upstream
    return repo


@pytest.mark.slow
def test_send_email_refuses_a_series_with_an_error(hooked: Path, smtp: tuple[int, Mailbox]) -> None:
    port, mailbox = smtp
    clean_series(hooked, 1)
    commit_file(hooked, "mm/f2.c", "int f2;\n", "mm: add f2", signoff=False)
    result = send_email(hooked, port, "base..")
    assert result.returncode != 0
    assert "rejected by sendemail-validate hook" in result.stderr
    assert "patch 2: error signoff-missing" in result.stderr
    assert mailbox.messages == []
    bypass = send_email(hooked, port, "--no-validate", "base..")
    assert bypass.returncode == 0, bypass.stderr
    assert subjects(mailbox) == ["[PATCH 1/2] mm: add f1", "[PATCH 2/2] mm: add f2"]


@pytest.mark.slow
def test_send_email_sends_a_clean_series_after_one_audit(
    hooked: Path, smtp: tuple[int, Mailbox]
) -> None:
    port, mailbox = smtp
    clean_series(hooked, 3)
    result = send_email(hooked, port, "base..")
    assert result.returncode == 0, result.stderr
    assert subjects(mailbox) == [f"[PATCH {n}/3] mm: add f{n}" for n in (1, 2, 3)]
    cache = hooked / ".git" / "reviewtool" / "sendemail-validate"
    assert len(list(cache.glob("*.json"))) == 1  # three files, one audit
    assert "reviewtool: note" not in result.stderr  # base-commit known: call sites audited


@pytest.mark.slow
def test_send_email_threshold_from_git_config_and_install(
    hooked: Path, smtp: tuple[int, Mailbox], capsys: Capture
) -> None:
    port, mailbox = smtp
    commit_file(hooked, "mm/f1.c", "int f1; \n", "mm: add f1")  # a warning only
    assert send_email(hooked, port, "--dry-run", "base..").returncode == 0
    git(hooked, "config", "reviewtool.failOn", "warning")
    refused = send_email(hooked, port, "base..")
    assert refused.returncode != 0 and "warning whitespace-trailing" in refused.stderr
    # git 2.39 validates before anything is sent, under --dry-run too
    assert send_email(hooked, port, "--dry-run", "base..").returncode != 0
    git(hooked, "config", "--unset", "reviewtool.failOn")
    assert send_email(hooked, port, "--dry-run", "base..").returncode == 0
    installed = run_cli(capsys, "hook", "install", "-C", str(hooked), "--fail-on", "warning")
    assert installed.code == ExitCode.OK
    assert send_email(hooked, port, "base..").returncode != 0
    assert mailbox.messages == []
    git(hooked, "config", "reviewtool.failOn", "never")
    sent = send_email(hooked, port, "base..")
    assert sent.returncode == 0, sent.stderr
    assert subjects(mailbox) == ["[PATCH] mm: add f1"]


@pytest.mark.slow
def test_send_email_of_outgoing_files_audits_their_series(
    hooked: Path, smtp: tuple[int, Mailbox], tmp_path: Path
) -> None:
    """`git send-email outgoing/*.patch`: the first file is clean, the third is not; the
    hook's run for the first file already refuses, naming patch 3."""
    port, mailbox = smtp
    clean_series(hooked, 2)
    commit_file(hooked, "mm/f3.c", "int f3;\n", "mm: add f3", signoff=False)
    outgoing = tmp_path / "outgoing"
    format_patches(hooked, outgoing, "-v1", "--cover-letter", "base..HEAD~1")
    files = format_patches(hooked, outgoing, "-v2", "--cover-letter", "base..")
    result = send_email(hooked, port, *map(str, files))
    assert result.returncode != 0
    assert f"fatal: {files[0]}: rejected by sendemail-validate hook" in result.stderr
    assert "patch 3: error signoff-missing" in result.stderr
    assert "(4 files)" in result.stderr  # v2's cover and three patches, not v1's
    assert mailbox.messages == []
