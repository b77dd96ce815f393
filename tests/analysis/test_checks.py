"""Each series check, tried on a series with exactly its defect and on a clean one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reviewtool.analysis.checks import RULES, check_series
from reviewtool.findings import Finding, sort_findings
from reviewtool.intake.mail import Source, read_sources
from reviewtool.intake.series import build_series
from tests.builders import AUTHOR, Msg, diff, mbox, patch_body, series, stat


def _findings(msgs: list[Msg], **options: object) -> list[Finding]:
    mails = read_sources([Source("t.mbox", data=mbox(msgs))])
    return list(sort_findings(check_series(build_series(mails, **options))))  # type: ignore[arg-type]


def _rules(msgs: list[Msg], **options: object) -> list[tuple[str, int | None]]:
    return [(f.rule, f.patch) for f in _findings(msgs, **options)]


def test_clean_series_has_no_findings() -> None:
    assert _findings(series(3)) == []


def test_missing_patch_and_no_cover() -> None:
    msgs = series(3, cover=False)
    del msgs[1]
    assert _rules(msgs) == [("series-no-cover", None), ("series-missing-patch", 2)]


def test_single_patch_needs_no_cover() -> None:
    assert _rules(series(1, cover=False)) == []


def test_overflow_and_expected_mismatch() -> None:
    msgs = series(2)
    msgs.append(
        Msg("[PATCH 3/2] mm: late", patch_body("mm/f3.c"), "late@x", in_reply_to="s-0@example.org")
    )
    msgs[2].subject = "[PATCH 2/3] mm: thing 2"
    rules = _rules(msgs)
    assert ("series-counter-overflow", 3) in rules
    assert ("series-expected-mismatch", 2) in rules


def test_duplicate() -> None:
    msgs = series(2)
    again = Msg(
        msgs[1].subject,
        msgs[1].body,
        "again@x",
        in_reply_to="s-0@example.org",
        date="Sat, 16 Jan 2021 10:00:00 -0500",
    )
    assert _rules([*msgs, again]) == [("series-duplicate-patch", 1)]


def test_mixed_revisions_note() -> None:
    found = _findings(series(2, tag="a") + series(2, revision=3, tag="b"))
    assert [(f.rule, f.message) for f in found] == [
        ("series-mixed-revisions", "the input holds v1, v3; auditing v3 (the newest)")
    ]


def test_no_diff() -> None:
    msgs = series(1, cover=False)
    msgs[0].body = f"Just words.\n\nSigned-off-by: {AUTHOR}\n"
    assert _rules(msgs) == [("patch-no-diff", 1)]


@pytest.mark.parametrize(
    ("trailers", "expected"),
    [
        ("Acked-by: B <b@example.org>", [("signoff-missing", 1)]),
        ("Signed-off-by: Bob Other <bob@example.org>", [("signoff-author-mismatch", 1)]),
        ("Signed-off-by: Ann Author <ann@work.example.com>", []),  # name matches
        ("Signed-off-by: A. Author <ANN@example.org>", []),  # email matches, any case
        (f"Reviewed-by: Bob Other\nSigned-off-by: {AUTHOR}", [("trailer-malformed", 1)]),
        (f'Fixes: 0123456789ab ("mm: x")\nSigned-off-by: {AUTHOR}', []),
        (f"Fixes: 01234567 (mm: x)\nSigned-off-by: {AUTHOR}", [("fixes-malformed", 1)]),
        (f"Fixes: {'a' * 40}\nSigned-off-by: {AUTHOR}", [("fixes-malformed", 1)]),
    ],
)
def test_trailers(trailers: str, expected: list[tuple[str, int]]) -> None:
    msgs = series(1, cover=False)
    msgs[0].body = patch_body("mm/f1.c", trailers=trailers)
    assert _rules(msgs) == expected


def test_diffstat_mismatch() -> None:
    msgs = series(1, cover=False)
    msgs[0].body = patch_body("mm/f1.c", ["a;", "b;"], diffstat=stat({"mm/f1.c": 3}))
    (found,) = _findings(msgs)
    assert found.rule == "diffstat-mismatch"
    assert "mm/f1.c: diffstat says 3, the diff changes 2 lines" in found.message
    assert "summary says 1 files, +3 -0; the diff has 1 files, +2 -0" in found.message


def test_cover_diffstat_mismatch() -> None:
    msgs = series(2)
    msgs[0].body = msgs[0].body.replace("mm/f2.c", "mm/other.c")
    (found,) = _findings(msgs)
    assert (found.rule, found.patch) == ("cover-diffstat-mismatch", 0)
    assert "not in the cover: mm/f2.c" in found.message


def _whitespace_msgs(lines: list[str]) -> list[Msg]:
    msgs = series(1, cover=False)
    msgs[0].body = patch_body("mm/f1.c", lines)
    return msgs


@pytest.mark.parametrize(
    ("lines", "rules"),
    [
        (["int a; "], ["whitespace-trailing"]),
        (["int a;\t"], ["whitespace-trailing"]),
        ([" \tint a;"], ["whitespace-space-before-tab"]),
        (["\tint a;"], []),
        (["        int a;"], []),  # indent-with-non-tab is not in git's default set
    ],
)
def test_whitespace_matches_git_apply(lines: list[str], rules: list[str], tmp_path: Path) -> None:
    found = _findings(_whitespace_msgs(lines))
    assert [f.rule for f in found] == rules
    if found:
        assert (found[0].path, found[0].line) == ("mm/f1.c", 2)
    # git itself agrees: --whitespace=error rejects exactly these.
    repo = tmp_path / "repo"
    (repo / "mm").mkdir(parents=True)
    (repo / "mm" / "f1.c").write_text("int x;\nint y;\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    result = subprocess.run(
        ["git", "apply", "--check", "--whitespace=error-all", "-"],
        input=diff("mm/f1.c", lines).encode(),
        cwd=repo,
        capture_output=True,
        check=False,
    )
    assert (result.returncode != 0) == bool(rules), result.stderr


def test_blank_at_eof() -> None:
    text = (
        "diff --git a/mm/f1.c b/mm/f1.c\n--- a/mm/f1.c\n+++ b/mm/f1.c\n"
        "@@ -1,2 +1,4 @@\n int x;\n int y;\n+int z;\n+\n"
    )
    msgs = series(1, cover=False)
    msgs[0].body = f"Words.\n\nSigned-off-by: {AUTHOR}\n---\n{text}"
    found = _findings(msgs)
    assert [(f.rule, f.line) for f in found] == [("whitespace-blank-at-eof", 4)]


def test_fingerprint_survives_line_shift() -> None:
    one = _findings(_whitespace_msgs(["int a; "]))[0]
    two = _findings(_whitespace_msgs(["int b;", "int a; "]))[0]
    assert one.line != two.line
    assert one.fingerprint == two.fingerprint


def test_every_rule_is_documented_in_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for rule in RULES:
        assert f"`{rule}`" in readme, rule
