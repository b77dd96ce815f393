"""Hostile input: a bot running reviewtool must never be the weak point.

Each case ends in a one-line error or a finding, in bounded time, memory and output, and
nothing is written outside the directories reviewtool was given.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reviewtool.errors import ExitCode
from reviewtool.intake.mail import Source
from reviewtool.render import FORMATTERS, RenderOptions, render
from reviewtool.render.markdown import COMMENT_LIMIT
from reviewtool.review import AuditOptions, run
from tests.builders import Msg, mbox
from tests.conftest import FIXTURES, ROOT
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]
SIGNOFF = "Signed-off-by: Ann Author <ann@example.org>"
FAKELINUX = ROOT / "tests" / "fakelinux"


def new_file(path: str, lines: list[str], *, target: str | None = None) -> str:
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ {target or 'b/' + path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def one_patch(subject: str, diff: str, message: str = "Do it.") -> bytes:
    body = f"{message}\n\n{SIGNOFF}\n---\n{diff}-- \n2.39.5\n"
    return mbox([Msg(subject, body, "p-1@example.org")])


# -- a 100 MB message ----------------------------------------------------------------------


def test_a_100_mb_file_is_refused_before_it_is_read(tmp_path: Path, capsys: Capture) -> None:
    huge = tmp_path / "huge.mbox"
    with huge.open("wb") as handle:  # sparse: fast, and no 100 MB written
        handle.truncate(100 * 1024 * 1024)
    result = run_cli(capsys, "audit", str(huge))
    assert result.code == ExitCode.INPUT
    assert result.err == (
        f"reviewtool: error: {huge}: 100.0 MiB is over the input size limit of 64.0 MiB\n"
    )
    assert result.out == ""
    small = tmp_path / "small.mbox"
    small.write_bytes(one_patch("[PATCH] mm: x", new_file("mm/x.c", ["int x;"])))
    limited = run_cli(capsys, "audit", str(small), "--max-input-size", "100")
    assert limited.code == ExitCode.INPUT
    assert "over the input size limit of 100 bytes" in limited.err
    assert run_cli(capsys, "audit", str(small), "--max-input-size", "1K").code == 0
    assert run_cli(capsys, "audit", str(small), "--max-input-size", "lots").code == ExitCode.INPUT


def test_stdin_is_read_only_up_to_the_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    asked: list[int] = []

    class Counting(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            asked.append(-1 if size is None else size)
            return super().read(size)

    stream = Counting(b"From: x\n" + b"x" * 10_000)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stream))
    result = run_cli(capsys, "audit", "-", "--max-input-size", "4K")
    assert result.code == ExitCode.INPUT
    expected = "reviewtool: error: <stdin>: more than the input size limit of 4096 bytes\n"
    assert result.err == expected
    assert asked == [4097]


def test_a_directory_counts_all_its_messages(tmp_path: Path, capsys: Capture) -> None:
    patches = tmp_path / "patches"
    patches.mkdir()
    for number in range(3):
        (patches / f"{number:04}.patch").write_bytes(b"From: x\n\n" + b"y" * 600)
    result = run_cli(capsys, "audit", str(patches), "--max-input-size", "1K")
    assert result.code == ExitCode.INPUT and "over the input size limit" in result.err


# -- a 10,000-file diff --------------------------------------------------------------------


def test_a_10000_file_patch_gives_bounded_findings_and_output() -> None:
    files = 10_000
    diff = "".join(
        new_file(f"drivers/x/f{n}.c", [f"int v{n}; ", f" \tint w{n};"]) for n in range(files)
    )
    report = run([Source("big.mbox", data=one_patch("[PATCH] x: many", diff))], AuditOptions())
    assert len(report.series.patches[0].files) == files
    by_rule: dict[str, int] = {}
    for finding in report.findings:
        by_rule[finding.rule] = by_rule.get(finding.rule, 0) + 1
    # 10,000 of each rule, capped at 50 and one finding saying how many more.
    assert by_rule == {"whitespace-trailing": 51, "whitespace-space-before-tab": 51}
    more = [f for f in report.findings if f.key.startswith("more:")]
    assert {f.message for f in more} == {
        "and 9950 more whitespace-trailing findings in this patch, not listed",
        "and 9950 more whitespace-space-before-tab findings in this patch, not listed",
    }
    assert len(render(report, "markdown")) <= COMMENT_LIMIT
    assert len(render(report, "text")) < 20_000
    assert len(render(report, "sarif")) < 200_000


# -- paths outside the tree ----------------------------------------------------------------


def test_unsafe_paths_are_findings() -> None:
    diff = (
        new_file("../../etc/passwd", ["root::0:0::/root:/bin/sh"])
        + new_file(".git/config", ["[core]"])
        + new_file("/etc/shadow", ["x"], target="/etc/shadow").replace(
            "diff --git a//etc/shadow b//etc/shadow", "diff --git /etc/shadow /etc/shadow"
        )
        + new_file("mm/fine.c", ["int fine;"])
    )
    report = run([Source("u.mbox", data=one_patch("[PATCH] evil", diff))], AuditOptions())
    unsafe = {f.key: f for f in report.findings if f.rule == "patch-unsafe-path"}
    assert set(unsafe) == {"../../etc/passwd", ".git/config", "/etc/shadow"}
    assert all(f.severity.value == "error" for f in unsafe.values())
    assert "a path that climbs out of the tree" in unsafe["../../etc/passwd"].message


def test_tree_mode_never_writes_outside_its_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    tree = tmp_path / "a" / "b" / "linux"
    tree.parent.mkdir(parents=True)
    subprocess.run(
        ["git", "clone", "-q", str(FIXTURES / "tree" / "demo-tree.bundle"), str(tree)], check=True
    )
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr("tempfile.tempdir", str(private))
    absolute = tmp_path / "absolute-marker"
    diff = (
        new_file("../../escape-marker", ["owned"])
        + new_file(".git/hooks/post-checkout", ["#!/bin/sh", "touch owned"])
        + new_file(str(absolute), ["owned"], target=str(absolute)).replace(
            f"diff --git a/{absolute} b/{absolute}", f"diff --git {absolute} {absolute}"
        )
    )
    series = tmp_path / "evil.mbox"
    series.write_bytes(one_patch("[PATCH] evil", diff))
    before = sorted(str(p) for p in tmp_path.rglob("*") if ".git" not in p.parts)
    git_before = sorted(str(p) for p in (tree / ".git").rglob("*"))
    result = run_cli(capsys, "audit", str(series), "--tree", str(tree), "--format", "json")
    assert result.code == ExitCode.FINDINGS, result.err
    data = result.json()
    assert {f["rule"] for f in data["findings"]} >= {"patch-unsafe-path"}
    (applied,) = data["tree"]["applied"]
    assert applied["status"] == "failed" and applied["method"] == "not applied (unsafe path)"
    assert sorted(str(p) for p in tmp_path.rglob("*") if ".git" not in p.parts) == before
    assert sorted(str(p) for p in (tree / ".git").rglob("*")) == git_before
    assert not absolute.exists() and list(private.iterdir()) == []


# -- control and bidi characters -----------------------------------------------------------

ESC = "\x1b"
RLO = "\u202e"


@pytest.fixture
def tricky() -> bytes:
    import email.header

    title = f"[PATCH] mm: {ESC}]0;owned{ESC}\\ title {RLO}txt.exe"
    subject = email.header.Header(title, "utf-8").encode()  # as a mailer sends it
    lines = ["int ok = 1; /* " + RLO + " } if (admin) { */", 'char *s = "' + ESC + '[2J";']
    diff = new_file("mm/trojan.c", lines)
    return one_patch(subject, diff, message=f"Clear the screen {ESC}[2J{ESC}[H and {RLO}hide.")


def test_control_and_bidi_characters_are_findings(tricky: bytes) -> None:
    report = run([Source("t.mbox", data=tricky)], AuditOptions())
    found = {(f.rule, f.message.split(" contains ")[0], f.line) for f in report.findings}
    assert {
        ("text-control-characters", "the subject", None),
        ("text-bidi-characters", "the subject", None),
        ("text-control-characters", "the commit message", None),
        ("text-bidi-characters", "the commit message", None),
        ("text-bidi-characters", "an added line", 1),
        ("text-control-characters", "an added line", 2),
    } <= found
    bidi = next(f for f in report.findings if f.rule == "text-bidi-characters")
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE)" in bidi.message
    assert bidi.severity.value == "error"


def test_every_format_neutralises_them(tricky: bytes) -> None:
    report = run([Source("t.mbox", data=tricky)], AuditOptions())
    assert set(FORMATTERS) >= {"text", "markdown", "json", "sarif", "codequality", "email"}
    for name in FORMATTERS:
        for rich in (False, True) if name == "text" else (False,):
            text = render(report, name, RenderOptions(rich=rich))
            assert RLO not in text, name
            if not rich:  # rich output is colour: its own escapes, none from the input
                assert ESC not in text, name
            else:
                assert f"{ESC}]0;" not in text and f"{ESC}[2J" not in text
            if name in ("json", "sarif", "codequality"):
                json.loads(text)  # still valid, the same data
    plain = render(report, "text")
    assert "[U+202E]txt.exe" in plain
    reply = render(report, "email")
    assert "Subject: Re: [PATCH] mm: ]0;owned \\ title [U+202E]txt.exe\n" in reply
    assert "[U+202E]" in reply.split("\n\n", 1)[1]  # the body quotes the line, made visible
    assert "an added line contains U+001B" in plain
    data = json.loads(render(report, "json"))
    assert data["series"]["patches"][0]["subject"].endswith(f"{RLO}txt.exe")
    assert "\\u202e" in render(report, "json")


# -- --timeout -----------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def _descendants_of_tree(marker: str) -> list[str]:
    """Processes whose command line mentions marker (the test's private directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        command = raw.replace(b"\0", b" ").decode("utf-8", "replace")
        if marker in command:
            found.append(command)
    return found


@pytest.mark.slow
def test_timeout_stops_the_build_kills_everything_and_exits_124(tmp_path: Path) -> None:
    tree = tmp_path / "linux"
    shutil.copytree(FAKELINUX / "tree", tree)
    _git(tree, "init", "-q")
    _git(tree, "-c", "user.name=A", "-c", "user.email=a@x.org", "add", "-A")
    _git(tree, "-c", "user.name=A", "-c", "user.email=a@x.org", "commit", "-qm", "base")
    with (tree / "mm" / "memory.c").open("a") as handle:
        handle.write("/* FAKE_SLEEP(60) */\n")
    _git(tree, "-c", "user.name=A", "-c", "user.email=a@x.org", "commit", "-qam", "slow")
    series = tmp_path / "slow.mbox"
    series.write_text(_git(tree, "format-patch", "--stdout", "-1"))
    _git(tree, "reset", "-q", "--hard", "HEAD~1")
    private, work, cache = tmp_path / "tmp", tmp_path / "work", tmp_path / "cache"
    for directory in (private, work):
        directory.mkdir()
    env = dict(os.environ, TMPDIR=str(private), LC_ALL="C")
    env["PATH"] = f"{FAKELINUX / 'bin'}{os.pathsep}{env['PATH']}"
    command = [sys.executable, "-m", "reviewtool", "build", str(series), "--tree", str(tree)]
    command += ["--arch", "arm64", "--timeout", "2", "--work-dir", str(work)]
    command += ["--cache-dir", str(cache), "--format", "json"]
    start = time.monotonic()
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    elapsed = time.monotonic() - start
    assert done.returncode == int(ExitCode.TIMEOUT) == 124, done.stderr
    assert done.stderr == "reviewtool: error: timed out after 2 s (--timeout)\n"
    assert done.stdout == ""
    assert elapsed < 15
    assert _descendants_of_tree(str(tmp_path)) == []
    assert list(private.iterdir()) == [] and list(work.iterdir()) == []


def test_visible_spells_out_what_a_terminal_would_obey() -> None:
    from reviewtool.render.common import json_safe, visible

    assert visible(f"a{ESC}[2Jb\tc\nd\x7f\x9b{RLO}e\u2066") == (
        "a\\x1b[2Jb\tc\nd\\x7f\\x9b[U+202E]e[U+2066]"
    )
    text = json.dumps({"k": f"{ESC}\x85{RLO}"}, ensure_ascii=False)
    assert json_safe(text) == '{"k": "\\u001b\\u0085\\u202e"}'
    assert json.loads(json_safe(text)) == json.loads(text)


# -- --work-dir and --cache-dir ------------------------------------------------------------


def test_nothing_is_written_outside_the_work_and_cache_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    tree = tmp_path / "linux"
    subprocess.run(
        ["git", "clone", "-q", str(FIXTURES / "tree" / "demo-tree.bundle"), str(tree)], check=True
    )
    private, work, cache = tmp_path / "tmp", tmp_path / "work", tmp_path / "cache"
    for directory in (private, work, cache):
        directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr("tempfile.tempdir", None)  # as a fresh process would: from TMPDIR
    home = Path(os.environ["HOME"])
    outside = sorted(p for p in tmp_path.rglob("*") if not p.is_relative_to(cache))
    seen_in_work: list[list[Path]] = []

    from reviewtool import git as tree_module

    enter = tree_module.Workspace.__enter__

    def watching(self: tree_module.Workspace) -> tree_module.Workspace:
        result = enter(self)
        seen_in_work.append(list(work.iterdir()))
        return result

    monkeypatch.setattr(tree_module.Workspace, "__enter__", watching)
    result = run_cli(
        capsys,
        "audit",
        str(FIXTURES / "demo" / "demo.mbox"),
        "--tree",
        str(tree),
        "--rule",
        str(FIXTURES / "demo" / "pte-demo.toml"),
        "--work-dir",
        str(work),
        "--cache-dir",
        str(cache),
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    assert result.json()["tree"]["applied"][0]["status"] == "ok"
    assert len(seen_in_work) == 1 and len(seen_in_work[0]) == 1  # the workspace was in work/
    assert list(work.iterdir()) == [] and list(private.iterdir()) == []
    assert list(home.iterdir()) == []
    assert any(cache.iterdir())  # the search cache went where it was told
    assert sorted(p for p in tmp_path.rglob("*") if not p.is_relative_to(cache)) == outside


def test_work_dir_must_exist(tmp_path: Path, capsys: Capture) -> None:
    series = tmp_path / "s.mbox"
    series.write_bytes(one_patch("[PATCH] mm: x", new_file("mm/x.c", ["int x;"])))
    result = run_cli(capsys, "audit", str(series), "--work-dir", str(tmp_path / "absent"))
    assert result.code == ExitCode.INPUT
    assert result.err == f"reviewtool: error: --work-dir {tmp_path / 'absent'}: not a directory\n"


def test_timeout_stops_pure_python_work_too(tmp_path: Path, capsys: Capture) -> None:
    diff = "".join(new_file(f"drivers/x/f{n}.c", [f"int v{n}; "]) for n in range(20_000))
    series = tmp_path / "big.mbox"
    series.write_bytes(one_patch("[PATCH] x: many", diff))
    start = time.monotonic()
    result = run_cli(capsys, "audit", str(series), "--timeout", "0.2")
    assert time.monotonic() - start < 30  # stopped, not finished: a bound for a loaded machine
    assert result.code == 124
    assert result.err == "reviewtool: error: timed out after 0.2 s (--timeout)\n"
    assert result.out == ""
