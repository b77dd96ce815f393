"""The CLI: exit codes, one-line errors, output files, stdin, and the error mapping."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reviewtool import cli
from reviewtool.errors import ExitCode
from tests.builders import AUTHOR, mbox, patch_body, series
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    path = tmp_path / "clean.mbox"
    path.write_bytes(mbox(series(2)))
    return path


@pytest.fixture
def warned(tmp_path: Path) -> Path:
    msgs = series(2)
    msgs[1].body = patch_body("mm/f1.c", ["int a; "])
    path = tmp_path / "warned.mbox"
    path.write_bytes(mbox(msgs))
    return path


def test_help_and_version(capsys: Capture) -> None:
    result = run_cli(capsys, "--help")
    assert result.code == 0 and "audit" in result.out
    assert run_cli(capsys, "audit", "--help").code == 0
    version = run_cli(capsys, "--version")
    assert version.code == 0 and version.out.startswith("reviewtool ")


def test_clean_series_exits_0(clean: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(clean))
    assert result.code == ExitCode.OK
    assert "no findings" in result.out and result.err == ""


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [("error", 0), ("warning", 1), ("note", 1), ("never", 0)],
)
def test_fail_on(warned: Path, fail_on: str, code: int, capsys: Capture) -> None:
    assert run_cli(capsys, "audit", str(warned), "--fail-on", fail_on).code == code


def test_error_finding_exits_1_by_default(tmp_path: Path, capsys: Capture) -> None:
    msgs = series(1, cover=False)
    msgs[0].body = patch_body(trailers="Acked-by: X <x@example.org>")
    path = tmp_path / "s.mbox"
    path.write_bytes(mbox(msgs))
    result = run_cli(capsys, "audit", str(path), "-f", "json")
    assert result.code == ExitCode.FINDINGS
    assert result.json()["findings"][0]["rule"] == "signoff-missing"


def test_output_file_and_stdin(
    clean: Path, tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.json"
    assert run_cli(capsys, "audit", str(clean), "-f", "json", "-o", str(out)).code == 0
    assert out.read_text().startswith("{")
    fake_stdin = io.TextIOWrapper(io.BytesIO(clean.read_bytes()))
    monkeypatch.setattr(sys, "stdin", fake_stdin)
    result = run_cli(capsys, "audit", "-", "-f", "json")
    assert result.code == 0 and result.json()["sources"] == ["<stdin>"]


def test_output_to_a_fifo_or_through_a_symlink_keeps_them(
    clean: Path, tmp_path: Path, capsys: Capture
) -> None:
    """`-o /dev/null`, a FIFO, a symlink: written to, never replaced by a regular file."""
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert run_cli(capsys, "audit", str(clean), "-f", "json", "-o", str(fifo)).code == 0
    reader.join(timeout=10)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and received[0].startswith(b"{")
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert run_cli(capsys, "audit", str(clean), "-f", "json", "-o", str(link)).code == 0
    assert link.is_symlink() and target.read_text().startswith("{")
    assert run_cli(capsys, "audit", str(clean), "-o", os.devnull).code == 0
    assert stat.S_ISCHR(Path(os.devnull).stat().st_mode)


def test_output_never_overwrites_the_input(clean: Path, capsys: Capture) -> None:
    before = clean.read_bytes()
    result = run_cli(capsys, "audit", str(clean), "-o", str(clean))
    assert result.code == ExitCode.INPUT
    assert "would overwrite the input" in result.err
    assert clean.read_bytes() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"\x00\x01\x02binary\xff" * 100, "binary data"),
        (b"hello\nworld\n", "no mail headers"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path, data: bytes, message: str, capsys: Capture
) -> None:
    path = tmp_path / "bad.mbox"
    path.write_bytes(data)
    result = run_cli(capsys, "audit", str(path))
    assert result.code == ExitCode.INPUT
    assert result.err.startswith(f"reviewtool: error: {path}: ")
    assert message in result.err and result.err.count("\n") == 1
    assert result.out == ""


def _corrupt(tmp_path: Path) -> Path:
    msgs = series(3)
    msgs[2].body = msgs[2].body.replace("@@ -1,2 +1,3 @@", "@@ -1,5 +1,6 @@")
    path = tmp_path / "corrupt.mbox"
    path.write_bytes(mbox(msgs))
    return path


def test_corrupt_patch_names_the_message(tmp_path: Path, capsys: Capture) -> None:
    path = _corrupt(tmp_path)
    result = run_cli(capsys, "audit", str(path))
    assert result.code == ExitCode.INPUT
    assert result.err.count("\n") == 1
    assert '<s-2@example.org> "[PATCH 2/3] mm: thing 2": corrupt diff:' in result.err


def test_keep_going_reports_the_good_patches(tmp_path: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(_corrupt(tmp_path)), "--keep-going", "-f", "json")
    assert result.code == ExitCode.FINDINGS
    data = result.json()
    assert [p["number"] for p in data["series"]["patches"]] == [1, 3]
    assert data["series"]["missing"] == []
    assert [(f["rule"], f["patch"]) for f in data["findings"]] == [("message-unparseable", 2)]


def test_usage_errors_exit_2(clean: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(clean), "--format", "yaml")
    assert result.code == ExitCode.INPUT
    assert result.err.startswith("reviewtool: error: ")
    assert run_cli(capsys, "audit").code == ExitCode.INPUT
    assert run_cli(capsys, "frobnicate").code == ExitCode.INPUT
    missing_revision = run_cli(capsys, "audit", str(clean), "--revision", "4")
    assert missing_revision.code == ExitCode.INPUT
    assert "revision v4 is not in the input (it holds v1)" in missing_revision.err


def test_internal_error_and_interrupt_are_mapped(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reviewtool.review

    def boom(*_: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(reviewtool.review, "run", boom)
    result = run_cli(capsys, "audit", str(clean))
    assert result.code == ExitCode.INTERNAL
    assert result.err == (
        "reviewtool: error: internal error: ZeroDivisionError: oops"
        " (set REVIEWTOOL_DEBUG=1 for a traceback)\n"
    )

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(reviewtool.review, "run", interrupt)
    assert run_cli(capsys, "audit", str(clean)).code == ExitCode.INTERRUPTED


def test_rules_lists_every_rule(capsys: Capture) -> None:
    from reviewtool.analysis.checks import RULES

    result = run_cli(capsys, "rules", "--kind", "series")
    assert [line.split()[0] for line in result.out.splitlines()] == list(RULES)
    result = run_cli(capsys, "rules")
    kinds = {line.split()[0]: line.split()[1] for line in result.out.splitlines()}
    assert dict.fromkeys(RULES, "series").items() <= kinds.items()
    assert kinds["apply-fuzzy"] == "tree" and kinds["build"] == "build"
    assert kinds["pte-marker"] == kinds["uffd-wp-special-swap-pte"] == "contract"
    assert run_cli(capsys, "rules", "--kind", "bogus").code == ExitCode.INPUT


def test_console_script_never_prints_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mbox"
    bad.write_bytes(
        b"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: a@b\nSubject: [PATCH] x\n"
        b'Content-Type: multipart/mixed; boundary="q"\n\nno parts\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "reviewtool", "audit", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().endswith("broken MIME: multipart boundary never appears in the body")
    assert proc.stderr.count("\n") == 1


def test_main_uses_sys_argv(monkeypatch: pytest.MonkeyPatch, clean: Path, capsys: Capture) -> None:
    monkeypatch.setattr(sys, "argv", ["reviewtool", "audit", str(clean)])
    assert cli.main() == 0
    capsys.readouterr()
    assert AUTHOR


def test_list_rules(capsys: Capture) -> None:
    result = run_cli(capsys, "audit", "--list-rules")
    assert result.code == 0
    ids = [line.split()[0] for line in result.out.splitlines()]
    assert {"uffd-wp-special-swap-pte", "pte-marker"} <= set(ids)


def test_tree_options_need_a_tree(clean: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(clean), "--base", "HEAD")
    assert result.code == ExitCode.INPUT
    assert "need --tree" in result.err


def test_unknown_rule_and_bad_tree(clean: Path, tmp_path: Path, capsys: Capture) -> None:
    import subprocess

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "x"],
        check=True,
        env={
            "GIT_AUTHOR_NAME": "a",
            "GIT_AUTHOR_EMAIL": "a@b",
            "GIT_COMMITTER_NAME": "a",
            "GIT_COMMITTER_EMAIL": "a@b",
            "PATH": "/usr/bin:/bin",
        },
    )
    result = run_cli(capsys, "audit", str(clean), "--tree", str(repo), "--rule", "nope")
    assert result.code == ExitCode.INPUT
    assert "no such rule" in result.err
    not_git = tmp_path / "plain"
    not_git.mkdir()
    result = run_cli(capsys, "audit", str(clean), "--tree", str(not_git))
    assert result.code == ExitCode.INPUT
    assert "not a git tree" in result.err


def test_tree_mode_on_the_demo(tmp_path: Path, capsys: Capture) -> None:
    import json
    import subprocess

    from tests.conftest import FIXTURES

    tree = tmp_path / "demo-tree"
    subprocess.run(
        ["git", "clone", "-q", str(FIXTURES / "tree" / "demo-tree.bundle"), str(tree)], check=True
    )
    demo = FIXTURES / "demo" / "demo.mbox"
    rule = FIXTURES / "demo" / "pte-demo.toml"
    result = run_cli(
        capsys,
        "audit",
        str(demo),
        "--tree",
        str(tree),
        "--rule",
        str(rule),
        "--format",
        "json",
        "--no-cache",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    deltas = [p["callsites_delta"] for p in data["series"]["patches"]]
    # Patch 1 makes a marker pte possible; patch 2 teaches the decoders about it.
    assert len(deltas[0]["unhandled"]) == 5 and deltas[0]["resolved"] == []
    assert deltas[1]["unhandled"] == [] and sorted(deltas[1]["resolved"]) == sorted(
        deltas[0]["unhandled"]
    )
    assert all(s["verdict"] == "handled" for s in data["callsites"])
    assert data["coverage"]["parsed_call_sites"] == data["coverage"]["textual_calls"] == 9
    sarif = run_cli(
        capsys,
        "audit",
        str(demo),
        "--tree",
        str(tree),
        "--rule",
        str(rule),
        "--format",
        "sarif",
        "--no-cache",
    )
    assert sarif.code == 0
    markdown = run_cli(
        capsys,
        "audit",
        str(demo),
        "--tree",
        str(tree),
        "--rule",
        str(rule),
        "--format",
        "markdown",
        "--no-cache",
    )
    assert "patch 1: 5 made unhandled, 0 resolved" in markdown.out
