"""`reviewtool check-patch` run by b4 itself: `b4 am --check`, `b4 prep --check`, b4 review's
check runners. b4 is configured with `git config` in a temporary repository (HOME is
temporary, see conftest), and its own output or results are what the tests read."""

from __future__ import annotations

import email
import email.charset
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow

# b4 and liblore change the email package's global charset table when imported (utf-8
# headers left unencoded); keep that to these tests, not the whole session.
_CHARSETS = dict(email.charset.CHARSETS)
b4 = pytest.importorskip("b4")
checks = pytest.importorskip("b4.review.checks")
liblore_utils = pytest.importorskip("liblore.utils")
_B4_CHARSETS = dict(email.charset.CHARSETS)
email.charset.CHARSETS.clear()
email.charset.CHARSETS.update(_CHARSETS)


@pytest.fixture(autouse=True)
def b4_charsets() -> Iterator[None]:
    """The charset table as b4 sets it, for the time of one test."""
    email.charset.CHARSETS.clear()
    email.charset.CHARSETS.update(_B4_CHARSETS)
    yield
    email.charset.CHARSETS.clear()
    email.charset.CHARSETS.update(_CHARSETS)


DEMO = FIXTURES / "demo" / "demo.mbox"
ENCODINGS = FIXTURES / "series" / "encodings.mbox"
COMMAND = f"{shlex.quote(sys.executable)} -m reviewtool check-patch"
TOOL = os.path.basename(sys.executable)  # how b4 names a check command in `am` and `prep`
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(autouse=True)
def importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """b4 runs the command in the repository; let it import this checkout of reviewtool."""
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{path}" if path else str(ROOT))
    if shutil.which("b4") is None:
        pytest.skip("the b4 command is not installed")


def _git(repo: Path, *args: str, data: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True, check=True)
    return done.stdout.decode().strip()


def _repo(path: Path) -> Path:
    path.mkdir()
    _git(path, "init", "-q", "-b", "master")
    _git(path, "config", "user.name", "Rita Reviewer")
    _git(path, "config", "user.email", "rita@example.org")
    return path


def _b4(repo: Path, *args: str) -> list[str]:
    done = subprocess.run(
        ["b4", *args], cwd=repo, capture_output=True, text=True, timeout=300, check=False
    )
    output = _ANSI.sub("", done.stdout + done.stderr)
    assert done.returncode == 0, output
    return output.splitlines()


def _messages(mbox: Path) -> list[EmailMessage]:
    """The messages as b4 reads a thread (liblore, b4's own mbox splitter)."""
    return list(liblore_utils.split_mbox(mbox.read_bytes()))


def _fed_line(message: EmailMessage, predicate: str) -> int:
    """The line of the bytes b4 feeds a check command that matches `predicate` (a regex)."""
    lines = b4.LoreMessage.get_msg_as_bytes(message).decode().split("\n")
    return next(n for n, line in enumerate(lines, 1) if re.search(predicate, line))


def _after(output: list[str], heading: str) -> list[str]:
    """The indented lines b4 prints under the line that contains heading."""
    start = next(i for i, line in enumerate(output) if heading in line)
    block = []
    for line in output[start + 1 :]:
        if not line.startswith("    ") or "[PATCH" in line:
            break
        block.append(line.strip())
    return block


def test_b4_am_check_shows_each_patch_its_findings(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    _git(repo, "config", "b4.am-perpatch-check-cmd", f"{COMMAND} -")
    output = _b4(
        repo, "--offline-mode", "am", "--check", "-m", str(DEMO), "-o", str(tmp_path / "o")
    )
    messages = _messages(DEMO)
    blank = _fed_line(messages[2], r"^\+.*\S[ \t]+$")
    fixes = _fed_line(messages[3], r"^Fixes: c397122c$")
    signoff = _fed_line(messages[3], r"^Signed-off-by: Arjun")
    assert _after(output, "[PATCH v2 1/3]") == [f"● {TOOL}: passed all checks"]
    assert _after(output, "[PATCH v2 2/3]") == [
        f"● {TOOL}: {blank}: WARNING: trailing whitespace [whitespace-trailing]"
    ]
    third = _after(output, "[PATCH v2 3/3]")
    assert [line.split(": ", 2)[1] for line in third] == [str(fixes), str(signoff)]
    assert "[fixes-malformed]" in third[0] and "[signoff-author-mismatch]" in third[1]


def test_b4_am_check_reads_bodies_b4_decoded(tmp_path: Path) -> None:
    # b4 feeds the base64 patch decoded, under its `Content-Transfer-Encoding: base64`.
    repo = _repo(tmp_path / "repo")
    _git(repo, "config", "b4.am-perpatch-check-cmd", f"{COMMAND} -")
    output = _b4(
        repo, "--offline-mode", "am", "--check", "-m", str(ENCODINGS), "-o", str(tmp_path / "o")
    )
    for counter in ("1/2", "2/2"):
        assert _after(output, f"[PATCH {counter}]") == [f"● {TOOL}: passed all checks"]


def test_b4_prep_check_reports_the_commit_with_the_problem(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "mm").mkdir()
    (repo / "mm" / "a.c").write_text("int a;\nint b;\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    _b4(repo, "prep", "-n", "demo")
    (repo / "mm" / "a.c").write_text("int a;\nint b;\nint c;\n")
    _git(repo, "commit", "-q", "-a", "-s", "-m", "mm: add c", "-m", "Add c.")
    (repo / "mm" / "a.c").write_text("int a;\nint b;\nint c;\nint d; \n")
    _git(repo, "commit", "-q", "-a", "-m", "mm: add d", "-m", "Add d.")
    clean, broken = (_git(repo, "rev-parse", "--short=12", rev) for rev in ("HEAD~1", "HEAD"))
    _git(repo, "config", "b4.prep-perpatch-check-cmd", f"{COMMAND} --showfile -")
    output = _b4(repo, "prep", "--check")
    start = output.index(f"● {clean}: mm: add c")
    assert output[start + 1] == f"● {broken}: mm: add d"
    findings = [line.strip() for line in output[start + 2 : start + 4]]
    assert findings[0].startswith(f"● {TOOL}: ") and findings[0].endswith(
        ": ERROR: no Signed-off-by: line [signoff-missing]"
    )
    assert findings[1] == f"● {TOOL}: mm/a.c:4: WARNING: trailing whitespace [whitespace-trailing]"
    assert "Success: 1, Warning: 1, Error: 1" in output


def test_b4_review_perpatch_checks_parse_our_results(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    messages = _messages(DEMO)
    patches = [(m["Message-Id"].strip("<> "), m) for m in messages[1:]]
    results = checks.run_perpatch_checks(patches, [f"{COMMAND} --format b4-check -"], str(repo))
    first, second, third = (results[msgid] for msgid, _m in patches)
    assert first == [
        {
            "tool": "reviewtool",
            "status": "pass",
            "summary": "passed all checks",
            "url": "",
            "details": "",
        }
    ]
    assert [(r["tool"], r["status"], r["summary"]) for r in second] == [
        ("reviewtool", "warn", "1 warning")
    ]
    assert json.loads(second[0]["details"]) == [
        {
            "status": "warn",
            "description": "mm/pgtable_demo.c:91: WARNING: trailing whitespace"
            " [whitespace-trailing]",
        }
    ]
    (result,) = third
    assert (result["status"], result["summary"]) == ("warn", "2 warnings")
    details = json.loads(result["details"])
    fixes = _fed_line(messages[3], r"^Fixes: c397122c$")
    assert details[0]["description"].startswith(f"{fixes}: WARNING: Fixes: 'c397122c'")
    assert [d["srcline"] for d in details] == [
        "Fixes: c397122c",
        "Signed-off-by: Arjun Raghavan <arjun.raghavan@example.com>",
    ]


def test_b4_review_series_check_audits_the_saved_thread(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    messages = _messages(DEMO)
    # Save the thread the way b4 review does (tracking.py: save_mboxrd_mbox, hash-object -w).
    buffer = io.BytesIO()
    b4.save_mboxrd_mbox(messages, buffer)
    blob = _git(repo, "hash-object", "-w", "--stdin", data=buffer.getvalue())
    tracking = tmp_path / "b4-tracking.json"
    tracking.write_text(json.dumps({"series": {"thread-blob": blob, "revision": 2}}))
    cover = (messages[0]["Message-Id"].strip("<> "), messages[0])
    command = [f"{COMMAND} --format b4-check --series -"]
    (result,) = checks.run_series_checks(
        cover, command, str(repo), extra_env={"B4_TRACKING_FILE": str(tracking)}
    )
    assert (result["status"], result["summary"]) == (
        "warn",
        "series v2, 3 of 3 patches: 3 warnings",
    )
    labels = [d["description"].split(" ", 1)[0] for d in json.loads(result["details"])]
    assert labels == ["[2/3]", "[3/3]", "[3/3]"]
    (alone,) = checks.run_series_checks(cover, command, str(repo))
    assert alone["summary"].startswith("cover letter checked alone (b4 gave no thread")
    assert email.message_from_bytes(b4.LoreMessage.get_msg_as_bytes(messages[0]))["Subject"]
