"""What the commands share: the exit status --fail-on gives, and where the report goes (-o)
and the series comes from (stdin)."""

from __future__ import annotations

import io
import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from reviewtool.cli.common import exit_code
from reviewtool.cli.options import FailOn
from reviewtool.errors import ExitCode
from reviewtool.findings import Finding, Severity
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]

WARNING = Finding("a-warning", Severity.WARNING, "w")


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [
        (FailOn.error, ExitCode.OK),
        (FailOn.warning, ExitCode.FINDINGS),
        (FailOn.note, ExitCode.FINDINGS),
        (FailOn.never, ExitCode.OK),
    ],
)
def test_exit_code_fails_at_or_above_fail_on(fail_on: FailOn, expected: int) -> None:
    assert exit_code([WARNING], fail_on) == expected


@pytest.mark.parametrize("fail_on", list(FailOn))
def test_exit_code_without_findings_is_ok(fail_on: FailOn) -> None:
    assert exit_code([], fail_on) == ExitCode.OK


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
