"""Every series fixture end to end: agreement with b4 and git, the expected findings, and the
demo's reports as golden files (REVIEWTOOL_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reviewtool.intake.mail import Source
from reviewtool.render import render
from reviewtool.report import Report
from reviewtool.review import AuditOptions, run
from tests.conftest import FIXTURES
from tests.helpers import b4_patch_ids, git_numstat, mbox_messages

SERIES = sorted((FIXTURES / "series").iterdir())
DEMO = FIXTURES / "demo" / "demo.mbox"

# The findings each fixture must produce: (rule, patch); nothing else.
EXPECTED = {
    "clean.mbox": [],
    "diffstat-mismatch.mbox": [("diffstat-mismatch", 2)],
    "duplicate.mbox": [("series-duplicate-patch", 2)],
    "encodings.mbox": [],
    "missing-patch.mbox": [("series-missing-patch", 3)],
    "mixed-revisions.mbox": [("series-mixed-revisions", None)],
    "no-cover.mbox": [("series-no-cover", None)],
    "overflow.mbox": [("cover-diffstat-mismatch", 0), ("series-counter-overflow", 3)],
    "prefixes.mbox": [],
    "renames.mbox": [],
    "resend.mbox": [],
    "single.patch": [],
}


def _audit(path: Path) -> Report:
    return run([Source(path.name, path)], AuditOptions())


def test_every_fixture_has_expectations() -> None:
    assert sorted(p.name for p in SERIES) == sorted(EXPECTED)


@pytest.mark.parametrize("path", SERIES, ids=lambda p: p.name)
def test_expected_findings(path: Path) -> None:
    report = _audit(path)
    assert [(f.rule, f.patch) for f in report.findings] == EXPECTED[path.name]


@pytest.mark.parametrize("path", SERIES, ids=lambda p: p.name)
def test_files_match_git_apply_numstat(path: Path) -> None:
    report = _audit(path)
    by_id = {str(m["Message-Id"]).strip().strip("<>"): m for m in mbox_messages(path)}
    for patch in report.series.patches:
        message = by_id.get(patch.message_id) or mbox_messages(path)[0]
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        expected = git_numstat(payload.replace(b"\r\n", b"\n"))
        got = [
            (None, None, f.path) if f.binary else (f.added, f.removed, f.path) for f in patch.files
        ]
        assert got == expected, (path.name, patch.number)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("b4") is None, reason="b4 is not installed")
@pytest.mark.parametrize(
    "path",
    [p for p in SERIES if p.name not in {"duplicate.mbox", "single.patch"}],
    ids=lambda p: p.name,
)
def test_patch_list_agrees_with_b4(path: Path, tmp_path: Path) -> None:
    report = _audit(path)
    assert [p.message_id for p in report.series.patches] == b4_patch_ids(path, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("b4") is None, reason="b4 is not installed")
def test_b4_sees_the_same_duplicate(tmp_path: Path) -> None:
    # b4 warns about the duplicate but then mis-assembles the series (it drops 3/3); we keep
    # the later copy of 2/3 and all three patches.
    path = FIXTURES / "series" / "duplicate.mbox"
    proc = subprocess.run(
        ["b4", "--offline-mode", "am", "-m", str(path), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert "duplicate messages found at index 2" in proc.stdout + proc.stderr
    report = _audit(path)
    assert [p.number for p in report.series.patches] == [1, 2, 3]
    assert report.series.duplicates[0].mail.index < report.series.patches[1].mail.index


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("b4") is None, reason="b4 is not installed")
def test_b4_refuses_a_patch_without_message_id_we_do_not(tmp_path: Path) -> None:
    path = FIXTURES / "series" / "single.patch"
    proc = subprocess.run(
        ["b4", "--offline-mode", "am", "-m", str(path), "-o", str(tmp_path / "o")],
        capture_output=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode != 0
    report = _audit(path)
    assert [p.number for p in report.series.patches] == [1]
    assert report.series.patches[0].message_id == ""


def test_encodings_are_decoded() -> None:
    report = _audit(FIXTURES / "series" / "encodings.mbox")
    cover, first, second = report.series.members
    assert "\r" not in cover.commit_message and "=0D" not in cover.commit_message
    assert first.author.name == "Zoë Müller"
    assert second.author.name == "José Ramírez"
    assert "José" in second.commit_message or "José" in str(second.trailers)


def test_prefixes_base_and_prerequisites() -> None:
    report = _audit(FIXTURES / "series" / "prefixes.mbox")
    assert report.series.revision == 3
    assert report.series.patches[0].subject.prefixes == ("net-next",)
    assert len(report.series.base_commit) == 40
    assert report.series.prerequisite_patch_ids[0].startswith("fc368579a7de")


def test_resend_and_renames() -> None:
    resend = _audit(FIXTURES / "series" / "resend.mbox")
    assert resend.series.patches[0].subject.is_resend
    renames = _audit(FIXTURES / "series" / "renames.mbox")
    statuses = {f.status for p in renames.series.patches for f in p.files}
    assert {"renamed", "added", "deleted", "modified"} <= statuses
    assert any(f.binary for p in renames.series.patches for f in p.files)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("empty.mbox", "empty file"),
        ("binary.bin", "binary data"),
        ("truncated.mbox", "corrupt diff: a hunk is shorter than its @@ header says"),
        ("broken-mime.mbox", "broken MIME: multipart boundary never appears"),
        ("corrupt-diff.mbox", "corrupt diff: a hunk is longer than its @@ header says"),
    ],
)
def test_broken_inputs_fail_cleanly(name: str, problem: str) -> None:
    from reviewtool.errors import InputError

    with pytest.raises(InputError) as caught:
        _audit(FIXTURES / "broken" / name)
    assert problem in caught.value.message
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("name", "numbers", "broken"),
    [("corrupt-diff.mbox", [1, 3], [2]), ("broken-mime.mbox", [], [1, 2])],
)
def test_keep_going_keeps_the_good_patches(
    name: str, numbers: list[int], broken: list[int]
) -> None:
    report = run([Source(name, FIXTURES / "broken" / name)], AuditOptions(keep_going=True))
    assert [p.number for p in report.series.patches] == numbers
    assert [f.patch for f in report.findings if f.rule == "message-unparseable"] == broken


@pytest.mark.parametrize("variant", ["text", "json", "markdown", "sarif"])
def test_demo_golden(variant: str) -> None:
    report = run([Source("demo.mbox", DEMO)], AuditOptions())
    text = re.sub(re.escape(report.tool_version), "VERSION", render(report, variant))
    suffix = {"json": "json", "sarif": "json", "markdown": "md", "text": "txt"}[variant]
    golden = DEMO.with_name(f"demo-ref-{variant}.{suffix}")
    if os.environ.get("REVIEWTOOL_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_demo_findings_are_the_planted_defects() -> None:
    report = run([Source("demo.mbox", DEMO)], AuditOptions())
    assert [(f.rule, f.patch, f.path, f.line) for f in report.findings] == [
        ("whitespace-trailing", 2, "mm/pgtable_demo.c", 91),
        ("fixes-malformed", 3, None, None),
        ("signoff-author-mismatch", 3, None, None),
    ]
    assert report.series.base_commit == "45d0b10e97990527974819b768e3acfad1bf66cb"
