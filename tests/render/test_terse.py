from __future__ import annotations

import dataclasses
import io
import mailbox
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reviewtool.findings import Finding, Severity
from reviewtool.integrations.b4check import CheckOptions, PatchCheck, check_patch
from reviewtool.render import terse
from tests.builders import Msg, patch_body
from tests.conftest import FIXTURES
from tests.helpers import run_cli

# checkpatch's --terse line, as b4 reads it (b4.LoreMessage.run_local_check).
TERSE = re.compile(r"^(-|[^:\s]+):(\d+): (ERROR|WARNING|CHECK): (\S.*) \[([a-z0-9-]+)\]$")


def _check(body: str, subject: str = "[PATCH 2/3] mm: thing") -> tuple[str, PatchCheck]:
    raw = Msg(subject, body, "t@example.org").render()
    return raw, check_patch(raw.encode(), "<test>", CheckOptions())


def _line_of(raw: str, text: str) -> int:
    return raw.split("\n").index(text) + 1


def test_one_line_per_finding_on_the_line_it_is_about() -> None:
    raw, check = _check(patch_body("mm/a.c", ["int z; "], trailers="Reviewed-by: nobody"))
    assert terse.render(check).splitlines() == [
        f"-:{_line_of(raw, 'Subject: [PATCH 2/3] mm: thing')}: ERROR: no Signed-off-by: line"
        " [signoff-missing]",
        f"-:{_line_of(raw, 'Reviewed-by: nobody')}: WARNING: Reviewed-by: 'nobody' has no <email>"
        " [trailer-malformed]",
        f"-:{_line_of(raw, '+int z; ')}: WARNING: trailing whitespace [whitespace-trailing]",
    ]


def test_showfile_names_file_findings_by_path_and_post_image_line() -> None:
    raw, check = _check(patch_body("mm/a.c", ["int z;", "int w; "], trailers=""))
    lines = terse.render(check, showfile=True).splitlines()
    assert lines == [
        f"-:{_line_of(raw, 'Subject: [PATCH 2/3] mm: thing')}: ERROR: no Signed-off-by: line"
        " [signoff-missing]",
        "mm/a.c:3: WARNING: trailing whitespace [whitespace-trailing]",
    ]
    assert all(TERSE.match(line) for line in lines)


def test_no_findings_no_output() -> None:
    _raw, check = _check(patch_body())
    assert terse.render(check) == ""


def test_messages_are_one_line_and_notes_are_checks() -> None:
    _raw, check = _check(patch_body())
    odd = Finding(
        rule="series-ignored-message",
        severity=Severity.NOTE,
        message="two\nlines\x1b[31m and a\ttab",
        path="mm/we\nird.c",
        line=7,
    )
    report = dataclasses.replace(check.report, findings=(odd,))
    text = terse.render(dataclasses.replace(check, report=report), showfile=True)
    assert text.count("\n") == 1 and "\x1b" not in text and "\t" not in text
    assert text == "mm/we ird.c:7: CHECK: two lines [31m and a tab [series-ignored-message]\n"


def test_cli_reads_stdin_by_default_and_exits_by_fail_on(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw, _check_result = _check(patch_body("mm/a.c", ["int z; "]))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw.encode())))
    result = run_cli(capsys, "check-patch")
    assert result.code == 0  # a warning is below the default --fail-on error
    assert (
        result.out
        == f"-:{_line_of(raw, '+int z; ')}: WARNING: trailing whitespace [whitespace-trailing]\n"
    )
    assert result.err == ""
    message = tmp_path / "patch.eml"
    message.write_text(raw)
    assert run_cli(capsys, "check-patch", "--fail-on", "warning", str(message)).code == 1
    clean = tmp_path / "clean.eml"
    clean.write_text(Msg("[PATCH] mm: x", patch_body(), "c@example.org").render())
    assert run_cli(capsys, "check-patch", "--fail-on", "note", str(clean)).out == ""


def test_cli_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = run_cli(capsys, "check-patch", str(tmp_path / "absent.eml"))
    assert result.code == 2 and result.out == ""
    assert result.err.count("\n") == 1 and "absent.eml: no such file" in result.err
    result = run_cli(capsys, "check-patch", "--base", "HEAD", str(tmp_path / "absent.eml"))
    assert result.code == 2 and "--base and --rule need --tree" in result.err


@pytest.mark.slow
def test_tree_findings_name_places_the_patch_does_not_show(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "tree"
    bundle = FIXTURES / "tree" / "demo-tree.bundle"
    subprocess.run(["git", "clone", "-q", str(bundle), str(tree)], check=True)
    first = list(mailbox.mbox(str(FIXTURES / "demo" / "demo.mbox")))[1].as_bytes()
    message = tmp_path / "patch.eml"
    message.write_bytes(first)
    monkeypatch.chdir(tree)  # where b4 runs check commands: the git toplevel
    rule = str(FIXTURES / "demo" / "pte-demo.toml")
    result = run_cli(capsys, "check-patch", "--tree", ".", "--rule", rule, str(message))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines and all(TERSE.match(line) for line in lines)
    assert all(line.endswith("[pte-demo-marker]") for line in lines)
    text = first.decode().split("\n")
    subject = next(n for n, line in enumerate(text, 1) if line.startswith("Subject:"))
    elsewhere = [line for line in lines if line.startswith(f"-:{subject}: ")]
    # Root causes in a file the patch does not touch: the Subject line, and the place named.
    # count_ptes()'s finding is its test that lets the marker through; the decoder in the
    # header the patch changes is one of its further uses, not a finding of its own.
    assert sorted(elsewhere) == sorted(lines) and len(lines) == 3
    count = next(line for line in lines if ": WARNING: mm/pgtable_demo.c:22: " in line)
    assert "include/linux/pgtable_demo.h:55" in count
