"""`reviewtool check` (a branch's commits before sending) and `reviewtool check-patch` (one
patch email, for b4's check commands): what each command decides before the engine runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewtool.errors import ExitCode
from tests.builders import Msg, patch_body
from tests.gitrepos import commit_file, git, make_repo
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """base, then two commits: the first unsigned and with a trailing blank."""
    repo = make_repo(tmp_path / "linux")
    commit_file(repo, "mm/f1.c", "int f1; \n", "mm: add f1", signoff=False)
    commit_file(repo, "mm/f2.c", "int f2;\n", "mm: add f2")
    return repo


@pytest.fixture
def message(tmp_path: Path) -> Path:
    """One patch email adding `int a; ` (a trailing blank) as line 2 of mm/a.c."""
    path = tmp_path / "patch.eml"
    body = patch_body("mm/a.c", ["int a; "])
    path.write_text(Msg("[PATCH 2/3] mm: thing", body, "t@example.org").render())
    return path


def rules(data: dict[str, list[dict[str, object]]]) -> list[object]:
    return [finding["rule"] for finding in data["findings"]]


def test_check_without_a_cover_commit_leaves_the_missing_cover_to_send_time(
    repo: Path, tmp_path: Path, capsys: Capture
) -> None:
    result = run_cli(capsys, "check", "-C", str(repo), "--base", "base", "--no-tree", "-f", "json")
    assert result.code == ExitCode.FINDINGS  # signoff-missing is an error
    assert rules(result.json()) == ["signoff-missing", "whitespace-trailing"]
    # The same commits as patch files, audited as they are, do lack a cover letter.
    listed = git(repo, "format-patch", "-o", str(tmp_path / "out"), "base..").split()
    audit = run_cli(capsys, "audit", *listed, "-f", "json")
    assert rules(audit.json()) == ["series-no-cover", "signoff-missing", "whitespace-trailing"]


def test_check_writes_the_report_to_output(repo: Path, tmp_path: Path, capsys: Capture) -> None:
    out = tmp_path / "report.json"
    result = run_cli(
        capsys, "check", "-C", str(repo), "base..HEAD", "--no-tree", "-f", "json", "-o", str(out)
    )
    assert (result.code, result.out) == (ExitCode.FINDINGS, "")
    data = json.loads(out.read_text())
    assert [p["title"] for p in data["series"]["patches"]] == ["mm: add f1", "mm: add f2"]


def test_check_build_needs_the_tree_audit(repo: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "check", "-C", str(repo), "--base", "base", "--build", "--no-tree")
    assert (result.code, result.out) == (ExitCode.INPUT, "")
    assert result.err == (
        "reviewtool: error: --build needs the tree audit (off by --no-tree or reviewtool.tree)\n"
    )


def test_check_work_dir_must_exist(repo: Path, tmp_path: Path, capsys: Capture) -> None:
    absent = tmp_path / "absent"
    result = run_cli(capsys, "check", "-C", str(repo), "--base", "base", "--work-dir", str(absent))
    assert result.code == ExitCode.INPUT
    assert result.err == f"reviewtool: error: --work-dir {absent}: not a directory\n"


# --- check-patch --------------------------------------------------------------------------------


def test_check_patch_names_the_line_of_the_email_or_with_showfile_of_the_file(
    message: Path, capsys: Capture
) -> None:
    raw = message.read_text().split("\n")
    email_line = raw.index("+int a; ") + 1
    terse = run_cli(capsys, "check-patch", str(message))
    assert (terse.code, terse.err) == (ExitCode.OK, "")  # a warning, below --fail-on error
    assert terse.out == f"-:{email_line}: WARNING: trailing whitespace [whitespace-trailing]\n"
    showfile = run_cli(capsys, "check-patch", "--showfile", str(message))
    assert showfile.out == "mm/a.c:2: WARNING: trailing whitespace [whitespace-trailing]\n"
    failing = run_cli(capsys, "check-patch", "--fail-on", "warning", str(message))
    assert failing.code == ExitCode.FINDINGS and failing.out == terse.out


def test_check_patch_rule_needs_a_tree(message: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "check-patch", "--rule", "pte-marker", str(message))
    assert (result.code, result.out) == (ExitCode.INPUT, "")
    assert result.err == "reviewtool: error: --base and --rule need --tree\n"


def test_check_patch_errors_are_a_fail_result_for_b4_and_exit_2_in_terse_form(
    message: Path, tmp_path: Path, capsys: Capture
) -> None:
    absent = tmp_path / "absent"
    terse = run_cli(capsys, "check-patch", "--work-dir", str(absent), str(message))
    assert (terse.code, terse.out) == (ExitCode.INPUT, "")
    assert terse.err == f"reviewtool: error: --work-dir {absent}: not a directory\n"
    b4 = run_cli(capsys, "check-patch", "-f", "b4-check", "--work-dir", str(absent), str(message))
    assert (b4.code, b4.err) == (ExitCode.OK, "")
    assert b4.json() == [
        {
            "status": "fail",
            "summary": f"reviewtool: --work-dir {absent}: not a directory",
            "tool": "reviewtool",
        }
    ]


def test_check_patch_b4_check_form_exits_0_on_findings(message: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "check-patch", "-f", "b4-check", "--fail-on", "note", str(message))
    assert result.code == ExitCode.OK  # b4 reads the status from the JSON
    (check,) = result.json()
    assert (check["status"], check["summary"]) == ("warn", "1 warning")
    assert "mm/a.c:2: WARNING: trailing whitespace [whitespace-trailing]" in check["details"]
