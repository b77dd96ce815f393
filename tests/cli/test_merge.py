"""`reviewtool merge`: what the command adds to reviewtool.integrations.merge: the JSON it
prints or writes, the series it re-reads for the other formats, and its usage errors."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from reviewtool.errors import ExitCode
from tests.conftest import FIXTURES
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]
DEMO = FIXTURES / "demo" / "demo.mbox"
CLEAN = FIXTURES / "series" / "clean.mbox"
BOT = "Review Bot <bot@example.net>"


@pytest.fixture
def report(tmp_path: Path, capsys: Capture) -> Path:
    """The demo's JSON report (three warnings), as `audit --format json` writes it."""
    path = tmp_path / "demo.json"
    result = run_cli(capsys, "audit", str(DEMO), "-f", "json", "-o", str(path))
    assert result.code == ExitCode.OK, result.err
    return path


def test_merge_writes_to_output_what_it_prints(
    report: Path, tmp_path: Path, capsys: Capture
) -> None:
    printed = run_cli(capsys, "merge", str(report))
    out = tmp_path / "merged.json"
    written = run_cli(capsys, "merge", str(report), "-o", str(out))
    assert (written.code, written.out, written.err) == (ExitCode.OK, "", "")
    assert out.read_text() == printed.out
    assert printed.json()["summary"] == {"error": 0, "warning": 3, "note": 0}


def test_json_merge_checks_that_a_given_series_is_the_one_reported(
    report: Path, capsys: Capture
) -> None:
    alone = run_cli(capsys, "merge", str(report))
    same = run_cli(capsys, "merge", str(report), "--series", str(DEMO))
    assert (same.code, same.out) == (ExitCode.OK, alone.out)
    other = run_cli(capsys, "merge", str(report), "--series", str(CLEAN))
    assert (other.code, other.out) == (ExitCode.INPUT, "")
    assert other.err.count("\n") == 1 and "not the series" in other.err


def test_merge_renders_an_email_reply_with_the_series(
    report: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1741687200")  # 2025-03-11 10:00 UTC
    result = run_cli(
        capsys, "merge", str(report), "--series", str(DEMO), "-f", "email", "--email-from", BOT
    )
    assert result.code == ExitCode.OK, result.err
    reply = email.message_from_string(result.out, policy=email.policy.default)
    assert reply["From"] == BOT
    assert reply["Date"] == "Tue, 11 Mar 2025 10:00:00 +0000"
    assert str(reply["Subject"]).startswith("Re: [PATCH v2 0/3] mm/pgtable_demo: ")
    assert reply["In-Reply-To"] == "<20250310083512.11970-1-arjun.raghavan@example.com>"


def test_merge_usage_errors(report: Path, capsys: Capture) -> None:
    nothing = run_cli(capsys, "merge")
    assert nothing.code == ExitCode.INPUT
    assert nothing.err.startswith("reviewtool: error: Missing argument 'reports'.")
    text = run_cli(capsys, "merge", str(report), "-f", "text")
    assert (text.code, text.out) == (ExitCode.INPUT, "")
    assert text.err == "reviewtool: error: merge --format text needs --series SERIES\n"
    big = run_cli(capsys, "merge", str(report), "--series", str(DEMO), "--max-input-size", "1K")
    assert big.code == ExitCode.INPUT
    assert "is over the input size limit of 1024 bytes" in big.err


def test_output_never_overwrites_the_series(report: Path, tmp_path: Path, capsys: Capture) -> None:
    series = tmp_path / "series.mbox"
    series.write_bytes(DEMO.read_bytes())
    result = run_cli(
        capsys, "merge", str(report), "--series", str(series), "-f", "markdown", "-o", str(series)
    )
    assert series.read_bytes() == DEMO.read_bytes()
    assert result.code == ExitCode.INPUT
    assert "--output would overwrite the input series" in result.err
