"""The must-hold facts on the real 30-patch RFC, checked against independent tools."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.helpers import b4_patch_ids, git_numstat, mbox_messages, run_cli


@pytest.fixture
def report(rfc_mbox: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    result = run_cli(capsys, "audit", str(rfc_mbox), "--format", "json")
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, dict)
    return data


def test_series_shape(report: dict[str, object], rfc_mbox: Path) -> None:
    series = report["series"]
    assert isinstance(series, dict)
    assert series["cover"]["subject"] == (
        "[PATCH RFC 00/30] userfaultfd-wp: Support shmem and hugetlbfs"
    )
    assert series["cover"]["message_id"] == "20210115170907.24498-1-peterx@redhat.com"
    patches = series["patches"]
    assert [p["number"] for p in patches] == list(range(1, 31))
    messages = mbox_messages(rfc_mbox)[1:]
    assert [p["subject"] for p in patches] == [
        re.sub(r"\s+", " ", str(m["Subject"])) for m in messages
    ]
    assert [p["message_id"] for p in patches] == [
        str(m["Message-Id"]).strip("<>") for m in messages
    ]
    last = patches[29]
    assert last["message_id"] == "20210115171226.25127-1-peterx@redhat.com"
    assert last["in_reply_to"] == "20210115170907.24498-1-peterx@redhat.com"
    assert series["skipped"] == []


def test_file_counts_match_git_apply_numstat(report: dict[str, object], rfc_mbox: Path) -> None:
    series = report["series"]
    assert isinstance(series, dict)
    for patch, message in zip(series["patches"], mbox_messages(rfc_mbox)[1:], strict=True):
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        expected = [(a, r, p) for a, r, p in git_numstat(payload)]
        got = [(f["added"], f["removed"], f["path"]) for f in patch["files"]]
        assert got == expected, patch["subject"]


def test_cover_diffstat_is_union_of_patch_files(report: dict[str, object]) -> None:
    series = report["series"]
    assert isinstance(series, dict)
    stat = series["cover"]["diffstat"]
    assert stat["files_changed"] == 38
    union = {f["path"] for p in series["patches"] for f in p["files"]}
    assert len(union) == 38
    assert {f["path"] for f in stat["files"]} == union
    assert {
        f"arch/{a}/mm/hugetlbpage.c"
        for a in ("arm64", "ia64", "mips", "parisc", "powerpc", "s390", "sh", "sparc")
    } <= union


def test_every_signed_off_by(report: dict[str, object], rfc_mbox: Path) -> None:
    series = report["series"]
    assert isinstance(series, dict)
    for patch, message in zip(series["patches"], mbox_messages(rfc_mbox)[1:], strict=True):
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        message_part = payload.decode().split("\n---\n", 1)[0]
        expected = re.findall(r"^Signed-off-by: (.+)$", message_part, re.MULTILINE)
        assert patch["signed_off_by"] == expected
        assert expected


def test_findings_are_real(report: dict[str, object]) -> None:
    findings = report["findings"]
    assert isinstance(findings, list)
    # Patch 02/30 carries `Fixes: b569a1760782...` with no quoted subject.
    assert [(f["rule"], f["patch"]) for f in findings] == [("fixes-malformed", 2)]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("b4") is None, reason="b4 is not installed")
def test_agrees_with_b4(report: dict[str, object], rfc_mbox: Path, tmp_path: Path) -> None:
    series = report["series"]
    assert isinstance(series, dict)
    ours = [p["message_id"] for p in series["patches"]]
    assert ours == b4_patch_ids(rfc_mbox, tmp_path)
