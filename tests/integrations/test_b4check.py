from __future__ import annotations

import base64
import json
import mailbox
import subprocess
from pathlib import Path

import pytest

from reviewtool.errors import InputError
from reviewtool.intake.linemap import map_message
from reviewtool.integrations.b4check import (
    SKIPPED_ALONE,
    CheckOptions,
    check_patch,
    engine_bytes,
    locate,
    read_message,
    saved_thread,
)
from tests.builders import Msg, cover_body, mbox, patch_body, series
from tests.conftest import FIXTURES

DEMO = FIXTURES / "demo" / "demo.mbox"


def _raw(msg: Msg) -> bytes:
    return msg.render().encode()


def _rules(data: bytes, options: CheckOptions | None = None) -> list[str]:
    check = check_patch(data, "<test>", options or CheckOptions())
    return [f.rule for f in check.report.findings]


def test_a_lone_patch_of_a_series_is_not_missing_its_siblings() -> None:
    third = series(5, cover=False)[2]
    assert third.subject.startswith("[PATCH 3/5]")
    check = check_patch(_raw(third), "<test>", CheckOptions())
    assert check.scope == "patch"
    assert check.report.findings == ()
    # The same message in `reviewtool audit` would report four missing patches and no cover.
    assert "series-missing-patch" in SKIPPED_ALONE and "series-no-cover" in SKIPPED_ALONE


def test_a_subject_numbered_past_its_total_is_still_wrong_alone() -> None:
    msg = Msg("[PATCH 3/2] mm: thing", patch_body(), "o@example.org")
    assert _rules(_raw(msg)) == ["series-counter-overflow"]


def test_patch_findings_are_kept_and_placed() -> None:
    body = patch_body("mm/a.c", ["int z; "], trailers="Reviewed-by: nobody")
    raw = Msg("[PATCH 2/3] mm: thing", body, "p@example.org").render()
    check = check_patch(raw.encode(), "<test>", CheckOptions())
    places = {f.rule: locate(f, check.lines) for f in check.report.findings}
    lines = raw.split("\n")
    assert places == {
        "signoff-missing": lines.index("Subject: [PATCH 2/3] mm: thing") + 1,
        "trailer-malformed": lines.index("Reviewed-by: nobody") + 1,
        "whitespace-trailing": lines.index("+int z; ") + 1,
    }


def test_a_diffstat_finding_is_placed_on_the_summary_line() -> None:
    body = patch_body(
        "mm/a.c", ["int z;"], diffstat=" mm/a.c | 3 +++\n 1 file changed, 3 insertions(+)\n"
    )
    raw = Msg("[PATCH] mm: thing", body, "d@example.org").render()
    check = check_patch(raw.encode(), "<test>", CheckOptions())
    (finding,) = check.report.findings
    assert finding.rule == "diffstat-mismatch"
    assert (
        locate(finding, check.lines)
        == raw.split("\n").index(" 1 file changed, 3 insertions(+)") + 1
    )


def test_the_demo_findings_sit_on_their_lines() -> None:
    messages = [m.as_bytes() for m in mailbox.mbox(str(DEMO))]
    whitespace = check_patch(messages[2], "demo#3", CheckOptions())
    (finding,) = whitespace.report.findings
    number = locate(finding, whitespace.lines)
    assert whitespace.lines.text_of(number).startswith("+") and whitespace.lines.text_of(
        number
    ).endswith(" ")
    assert (finding.path, finding.line) == ("mm/pgtable_demo.c", 91)
    trailers = check_patch(messages[3], "demo#4", CheckOptions())
    shown = {
        f.rule: trailers.lines.text_of(locate(f, trailers.lines)) for f in trailers.report.findings
    }
    assert shown == {
        "fixes-malformed": "Fixes: c397122c",
        "signoff-author-mismatch": "Signed-off-by: Arjun Raghavan <arjun.raghavan@example.com>",
    }


def test_a_cover_letter_alone_is_a_cover_check() -> None:
    cover = Msg("[PATCH 0/2] mm: things", cover_body({"mm/f1.c": 1}), "c@example.org")
    check = check_patch(_raw(cover), "<test>", CheckOptions())
    assert check.scope == "cover"
    assert check.report.findings == ()


def test_more_than_one_message_is_refused() -> None:
    with pytest.raises(InputError, match="holds 4 messages; check-patch reads one"):
        check_patch(DEMO.read_bytes(), str(DEMO), CheckOptions())


def test_a_corrupt_diff_is_a_finding_not_an_exit() -> None:
    body = patch_body("mm/a.c", ["int z;"]).replace("@@ -1,2 +1,3 @@", "@@ -1,2 +1,9 @@")
    rules = _rules(_raw(Msg("[PATCH] mm: thing", body, "x@example.org")))
    assert rules == ["message-unparseable"]


def test_a_body_b4_decoded_under_its_base64_header_is_read_as_8bit() -> None:
    raw = (
        Msg(
            "[PATCH] mm: thing",
            patch_body("mm/a.c", ["int z; "]),
            "b@example.org",
            headers={"Content-Transfer-Encoding": "base64"},
        )
        .render()
        .encode()
    )
    fixed = engine_bytes(raw)
    assert b"Content-Transfer-Encoding: 8bit" in fixed and b"base64" not in fixed
    assert fixed.count(b"\n") == raw.count(b"\n")
    assert _rules(raw) == ["whitespace-trailing"]


def test_a_really_encoded_body_is_left_alone() -> None:
    body = base64.encodebytes(patch_body().encode()).decode()
    raw = Msg(
        "[PATCH] mm: x", body, "e@example.org", headers={"Content-Transfer-Encoding": "base64"}
    )
    data = _raw(raw)
    assert engine_bytes(data) == data
    assert _rules(data) == []


def test_a_plain_body_under_multipart_headers_is_read_as_text() -> None:
    raw = (
        Msg(
            "[PATCH] mm: thing",
            patch_body("mm/a.c", ["int z; "]),
            "mp@example.org",
            headers={"Content-Type": 'multipart/mixed;\n boundary="XYZ"'},
        )
        .render()
        .encode()
    )
    fixed = engine_bytes(raw.replace(b"\n", b"\r\n"))
    assert b"multipart" not in fixed and b'Content-Type: text/plain; charset="utf-8"\r\n' in fixed
    assert _rules(raw) == ["whitespace-trailing"]


def test_read_message_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_message(tmp_path / "absent.eml")
    with pytest.raises(InputError, match="is a directory"):
        read_message(tmp_path)


def _git(repo: Path, *args: str, data: bytes | None = None) -> str:
    return (
        subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True, check=True)
        .stdout.decode()
        .strip()
    )


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, Path]:
    """A repository holding a thread as a blob, and tracking data naming it, as b4 keeps them."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    msgs = series(3)
    msgs[2].body = patch_body("mm/f2.c", ["int z; "])
    reply = Msg(
        "Re: [PATCH 1/3] mm: thing 1",
        "> quoted\nLooks fine.\n",
        "r@example.org",
        in_reply_to="s-1@example.org",
    )
    blob = _git(repo, "hash-object", "-w", "--stdin", data=mbox([*msgs, reply]))
    tracking = tmp_path / "b4-tracking.json"
    tracking.write_text(json.dumps({"series": {"thread-blob": blob, "revision": 1}}))
    return repo, tracking


def test_a_series_check_audits_the_thread_b4_saved(saved: tuple[Path, Path]) -> None:
    repo, tracking = saved
    cover = series(3)[0].render().encode()
    options = CheckOptions(series=True, tracking_file=tracking, git_dir=repo)
    check = check_patch(cover, "<cover>", options)
    assert check.scope == "series"
    assert len(check.report.series.patches) == 3
    # The reply is part of the thread, not news; the finding of patch 2 is reported.
    assert [(f.rule, f.patch) for f in check.report.findings] == [("whitespace-trailing", 2)]


def test_a_series_check_without_a_thread_checks_the_message_and_says_why(
    saved: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, tracking = saved
    cover = series(3)[0].render().encode()
    alone = check_patch(cover, "<cover>", CheckOptions(series=True, git_dir=repo))
    assert alone.scope == "cover" and "B4_TRACKING_FILE is not set" in alone.note
    other = tmp_path / "other"
    other.mkdir()
    _git(other, "init", "-q")
    assert saved_thread(tracking, other)[1].endswith("is not in this repository")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert saved_thread(broken, repo)[0] is None
    broken.write_text(json.dumps({"series": {}}))
    assert saved_thread(broken, repo) == (
        None,
        "b4's tracking data names no saved thread (thread-blob)",
    )


def test_the_line_map_is_of_the_bytes_given_not_the_rewritten_ones() -> None:
    raw = Msg(
        "[PATCH] mm: thing",
        patch_body("mm/a.c", ["int z; "]),
        "l@example.org",
        headers={"Content-Type": 'multipart/mixed;\n boundary="XYZ"'},
    ).render()
    check = check_patch(raw.encode(), "<test>", CheckOptions())
    (finding,) = check.report.findings
    assert locate(finding, check.lines) == raw.split("\n").index("+int z; ") + 1
    assert check.lines == map_message(raw.encode())
