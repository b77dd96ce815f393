"""Markdown: findings grouped by patch in folds, with the subject escaped; and the comment fits
one pull-request comment, however many findings there are."""

from __future__ import annotations

import re

import pytest

from reviewtool.findings import Severity
from reviewtool.intake.mail import Source
from reviewtool.render import RenderOptions, render
from reviewtool.render.markdown import COMMENT_LIMIT
from reviewtool.report import Report
from reviewtool.review import AuditOptions, run
from tests.builders import Msg, mbox, patch_body, series


def _huge_report(patches: int = 80) -> Report:
    """The real engine on a generated series with thousands of whitespace findings."""
    msgs = series(patches)
    for number in range(1, patches + 1):
        added = [f"int value_{number}_{i}; " for i in range(60)]
        added += [f" \tint tabbed_{number}_{i};" for i in range(60)]
        msgs[number].body = patch_body(f"mm/file{number}.c", added)
    for number in range(40):  # replies, each a note
        msgs.append(Msg(f"Re: [PATCH 1/{patches}] x", "LGTM\n", f"re-{number}@x", "r@x.org"))
    return run([Source("huge.mbox", data=mbox(msgs))], AuditOptions())


@pytest.fixture(scope="module")
def huge() -> Report:
    return _huge_report()


def _well_formed(text: str) -> None:
    assert text.count("<details>") == text.count("</details>")
    depth = 0
    for tag in re.findall(r"</?details>", text):
        depth += 1 if tag == "<details>" else -1
        assert depth in (0, 1)
    fences = [line for line in text.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0


def test_a_huge_report_fits_one_comment(huge: Report) -> None:
    assert len(huge.findings) > 5000
    text = render(huge, "markdown")
    assert len(text) <= COMMENT_LIMIT
    _well_formed(text)
    assert text.startswith("### reviewtool: ")
    summary_end = text.index("<details>")
    assert "| 80 | mm: thing 80 |" in text[:summary_end]  # the whole patch table is kept
    assert "warnings" in text.splitlines()[2]  # the totals
    assert "The full report: run `reviewtool audit` on the series with `--format json`" in text
    assert "left out of this comment" in text


def test_the_least_important_findings_go_first(huge: Report) -> None:
    text = render(huge, "markdown")
    # The replies' notes are dropped before any warning: the series group shows none.
    notes = sum(1 for f in huge.findings if f.severity is Severity.NOTE)
    assert notes == 40
    assert "<summary>series: the series" not in text
    assert re.search(r"… \d+ warnings, 40 notes more, in other folds, left out of this comm", text)
    # Warnings of the first patches are kept, those of the last ones left out.
    assert "<summary>1/80: mm: thing 1 (102)</summary>" in text
    assert "<summary>80/80" not in text


def test_the_report_url_is_the_pointer(huge: Report) -> None:
    url = "https://ci.example.org/runs/7/report.json"
    text = render(huge, "markdown", RenderOptions(report_url=url))
    assert len(text) <= COMMENT_LIMIT
    assert f"The full report: <{url}>" in text
    assert text.rstrip().splitlines()[-3].endswith(f"<{url}>")


def test_a_small_report_is_complete_and_unchanged_by_the_options() -> None:
    msgs = series(2)
    msgs[1].body = patch_body("mm/f1.c", ["int a; "])
    report = run([Source("t.mbox", data=mbox(msgs))], AuditOptions())
    text = render(report, "markdown")
    assert render(report, "markdown", RenderOptions(report_url="https://x.org/r")) == text
    assert "shortened" not in text and "left out" not in text
    assert "<summary>1/2: mm: thing 1 (1)</summary>" in text
    assert "- :warning: **whitespace-trailing** `mm/f1.c:2`: trailing whitespace" in text
    _well_formed(text)


def test_hundreds_of_patches_with_huge_titles_still_fit() -> None:
    total = 400
    msgs = series(total)
    for number in range(1, total + 1):
        msgs[number].subject = f"[PATCH {number}/{total}] mm: " + "long title " * 300
        msgs[number].body = patch_body(f"mm/f{number}.c", trailers="")  # signoff-missing
    report = run([Source("t.mbox", data=mbox(msgs))], AuditOptions())
    assert sum(1 for f in report.findings if f.severity is Severity.ERROR) == total
    text = render(report, "markdown", RenderOptions(report_url="https://ci.example.org/r/1"))
    assert len(text) <= COMMENT_LIMIT
    _well_formed(text)
    assert text.startswith("### reviewtool: ")
    assert "**400 errors" in text
    assert "The full report: <https://ci.example.org/r/1>" in text


def test_markdown_groups_by_patch_and_escapes(report: Report) -> None:
    text = render(report, "markdown")
    assert text.startswith("### reviewtool: \\[PATCH 0/3\\] mm: things\n")
    assert "<summary>2/3: mm: thing 2 (2)</summary>" in text
    assert "- :warning: **whitespace-trailing** `mm/f2.c:2`: trailing whitespace" in text
    assert text.count("<details>") == text.count("</details>") == 3
