from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reviewtool.errors import ExitCode
from reviewtool.integrations.b4check import CheckOptions, check_patch
from reviewtool.render import b4check
from tests.builders import Msg, cover_body, patch_body
from tests.helpers import run_cli


def _results(raw: str) -> list[dict[str, Any]]:
    check = check_patch(raw.encode(), "<test>", CheckOptions())
    parsed = json.loads(b4check.render(check))
    assert isinstance(parsed, list)
    return parsed


def test_a_clean_patch_passes_without_details() -> None:
    raw = Msg("[PATCH 1/2] mm: x", patch_body(), "p@example.org").render()
    assert _results(raw) == [
        {"tool": "reviewtool", "status": "pass", "summary": "passed all checks"}
    ]


def test_findings_become_details_as_b4_lists_them() -> None:
    body = patch_body("mm/a.c", ["int z; "], trailers="Reviewed-by: nobody")
    raw = Msg("[PATCH 2/3] mm: thing", body, "f@example.org").render()
    lines = raw.split("\n")
    (result,) = _results(raw)
    assert result["status"] == "fail"
    assert result["summary"] == "1 error, 2 warnings"
    details = json.loads(result["details"])
    subject = lines.index("Subject: [PATCH 2/3] mm: thing") + 1
    trailer = lines.index("Reviewed-by: nobody") + 1
    assert details == [
        {
            "status": "fail",
            "description": f"{subject}: ERROR: no Signed-off-by: line [signoff-missing]",
            "srcline": "Subject: [PATCH 2/3] mm: thing",
        },
        {
            "status": "warn",
            "description": f"{trailer}: WARNING: Reviewed-by: 'nobody' has no <email>"
            " [trailer-malformed]",
            "srcline": "Reviewed-by: nobody",
        },
        {
            "status": "warn",
            "description": "mm/a.c:2: WARNING: trailing whitespace [whitespace-trailing]",
        },
    ]


def test_warnings_and_notes_warn() -> None:
    body = patch_body("mm/a.c", ["int z; "])
    (result,) = _results(Msg("[PATCH] mm: x", body, "w@example.org").render())
    assert (result["status"], result["summary"]) == ("warn", "1 warning")


def test_a_cover_letter_alone_says_so() -> None:
    raw = Msg("[PATCH 0/2] mm: things", cover_body({"mm/a.c": 1}), "c@example.org").render()
    (result,) = _results(raw)
    assert result == {
        "tool": "reviewtool",
        "status": "pass",
        "summary": "cover letter checked alone: passed all checks",
    }


def test_cli_writes_json_and_exits_0_even_on_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    message = tmp_path / "patch.eml"
    message.write_text(Msg("[PATCH] mm: x", patch_body(trailers=""), "e@example.org").render())
    result = run_cli(capsys, "check-patch", "--format", "b4-check", str(message))
    assert result.code == 0 and result.err == ""
    assert json.loads(result.out)[0]["status"] == "fail"
    bad = run_cli(capsys, "check-patch", "-f", "b4-check", str(tmp_path / "absent.eml"))
    assert bad.code == 0
    assert json.loads(bad.out) == [
        {
            "tool": "reviewtool",
            "status": "fail",
            "summary": f"reviewtool: {tmp_path / 'absent.eml'}: no such file",
        }
    ]


def test_series_without_a_thread_checks_the_cover_and_says_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("B4_TRACKING_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    cover = tmp_path / "cover.eml"
    cover.write_text(Msg("[PATCH 0/2] mm: x", cover_body({"mm/a.c": 1}), "c@example.org").render())
    result = run_cli(capsys, "check-patch", "-f", "b4-check", "--series", str(cover))
    assert json.loads(result.out)[0]["summary"] == (
        "cover letter checked alone (b4 gave no thread: $B4_TRACKING_FILE is not set):"
        " passed all checks"
    )


def test_an_input_over_the_size_limit_is_refused_in_either_form(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    message = tmp_path / "patch.eml"
    message.write_text(Msg("[PATCH] mm: x", patch_body(), "e@example.org").render())
    terse = run_cli(capsys, "check-patch", "--max-input-size", "100", str(message))
    assert terse.code == ExitCode.INPUT
    assert terse.err.count("\n") == 1 and "input size limit" in terse.err
    b4 = run_cli(capsys, "check-patch", "-f", "b4-check", "--max-input-size", "100", str(message))
    assert b4.code == ExitCode.OK
    [result] = json.loads(b4.out)
    assert result["status"] == "fail" and "input size limit" in result["summary"]
