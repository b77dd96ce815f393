"""`reviewtool merge`: JSON reports of one series (series checks, shards) in, one report out.

The input reports are made by the real `reviewtool audit --format json` on the demo series, so
these tests follow the report's serialisation wherever it goes; shards are made from a real
report by keeping some of its findings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reviewtool.errors import ExitCode, InputError
from reviewtool.integrations.merge import merge_reports
from tests.conftest import FIXTURES
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]
DEMO = FIXTURES / "demo" / "demo.mbox"
CLEAN = FIXTURES / "series" / "clean.mbox"


def audit(capsys: Capture, out: Path, *args: str) -> dict[str, Any]:
    result = run_cli(capsys, "audit", *args, "-f", "json", "-o", str(out), "--fail-on", "never")
    assert result.code == ExitCode.OK, result.err
    data: dict[str, Any] = json.loads(out.read_text())
    return data


@pytest.fixture
def checks(tmp_path: Path, capsys: Capture) -> Path:
    """The series checks' report of the demo series (three planted defects)."""
    path = tmp_path / "checks.json"
    assert len(audit(capsys, path, str(DEMO))["findings"]) == 3
    return path


def shard(report: Path, path: Path, keep: list[int]) -> Path:
    """The same report with only some of its findings (by index), as a shard would have."""
    data = json.loads(report.read_text())
    data["findings"] = [data["findings"][i] for i in keep]
    path.write_text(json.dumps(data))
    return path


def fingerprints(report: dict[str, Any]) -> list[str]:
    return [f["fingerprint"] for f in report["findings"]]


def test_merging_a_report_with_itself_changes_nothing(checks: Path, capsys: Capture) -> None:
    original = json.loads(checks.read_text())
    result = run_cli(capsys, "merge", str(checks), str(checks))
    assert result.code == ExitCode.OK, result.err  # warnings only, below --fail-on error
    merged = result.json()
    assert merged["findings"] == original["findings"]
    assert merged["summary"] == original["summary"] == {"error": 0, "warning": 3, "note": 0}
    assert merged["series"] == original["series"]
    assert merged["schema_version"] == original["schema_version"]


def test_findings_of_several_reports_are_kept_once_each(
    checks: Path, tmp_path: Path, capsys: Capture
) -> None:
    original = json.loads(checks.read_text())
    first = shard(checks, tmp_path / "first.json", [0, 1])
    second = shard(checks, tmp_path / "second.json", [2, 1])  # finding 1 is in both
    for order in ([first, second], [second, first]):
        merged = run_cli(capsys, "merge", *map(str, order)).json()
        # Each finding once, in the order audit gives them.
        assert fingerprints(merged) == fingerprints(original)
        assert merged["findings"] == original["findings"]
        assert merged["summary"]["warning"] == 3


def test_merge_reports_is_the_api_of_the_command(checks: Path, tmp_path: Path) -> None:
    only_first = shard(checks, tmp_path / "first.json", [0])
    merged = merge_reports([only_first, checks, only_first])
    assert fingerprints(merged) == fingerprints(json.loads(checks.read_text()))
    assert merged["sources"] == [str(DEMO)]
    with pytest.raises(InputError, match="at least one"):
        merge_reports([])


def test_the_sources_of_every_report_are_listed(
    checks: Path, tmp_path: Path, capsys: Capture
) -> None:
    copy = tmp_path / "saved-from-lore.mbox"
    copy.write_bytes(DEMO.read_bytes())
    again = tmp_path / "again.json"
    audit(capsys, again, str(copy))
    merged = run_cli(capsys, "merge", str(again), str(checks)).json()
    assert merged["sources"] == sorted([str(DEMO), str(copy)])
    assert fingerprints(merged) == fingerprints(json.loads(checks.read_text()))


def test_fail_on_applies_to_the_merged_findings(
    checks: Path, tmp_path: Path, capsys: Capture
) -> None:
    clean_shard = shard(checks, tmp_path / "none.json", [])
    assert run_cli(capsys, "merge", str(clean_shard), "--fail-on", "warning").code == ExitCode.OK
    result = run_cli(capsys, "merge", str(clean_shard), str(checks), "--fail-on", "warning")
    assert result.code == ExitCode.FINDINGS


def test_the_merged_report_renders_with_the_series(checks: Path, capsys: Capture) -> None:
    markdown = run_cli(capsys, "merge", str(checks), "--series", str(DEMO), "-f", "markdown")
    assert markdown.code == ExitCode.OK, markdown.err
    assert "trailing whitespace" in markdown.out
    # Every format but JSON needs the series, and it must be the series the reports are of.
    missing = run_cli(capsys, "merge", str(checks), "-f", "markdown")
    assert missing.code == ExitCode.INPUT and "needs --series" in missing.err
    other = run_cli(capsys, "merge", str(checks), "--series", str(CLEAN), "-f", "text")
    assert other.code == ExitCode.INPUT and "not the series" in other.err


def test_reports_of_different_series_are_refused(
    checks: Path, tmp_path: Path, capsys: Capture
) -> None:
    clean = tmp_path / "clean.json"
    audit(capsys, clean, str(CLEAN))
    result = run_cli(capsys, "merge", str(checks), str(clean))
    assert result.code == ExitCode.INPUT
    assert result.out == ""
    assert result.err.count("\n") == 1 and "the reports are of different series" in result.err


def refused(capsys: Capture, *paths: Path) -> str:
    result = run_cli(capsys, "merge", *map(str, paths))
    assert result.code == ExitCode.INPUT, result.err
    assert result.out == "" and result.err.count("\n") == 1  # one line, no traceback
    return result.err


def test_a_file_that_is_not_json_is_refused(checks: Path, capsys: Capture) -> None:
    err = refused(capsys, checks, DEMO)  # the mbox given by mistake
    assert f"{DEMO}: not a JSON report" in err


def test_json_that_is_not_a_reviewtool_report_is_refused(
    checks: Path, tmp_path: Path, capsys: Capture
) -> None:
    sarif = tmp_path / "report.sarif"
    result = run_cli(capsys, "audit", str(DEMO), "-f", "sarif", "-o", str(sarif))
    assert sarif.is_file(), result.err
    assert f"{sarif}: not a reviewtool JSON report (schema 1)" in refused(capsys, checks, sarif)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    assert "not a reviewtool JSON report" in refused(capsys, listed)


def test_another_schema_version_is_refused(checks: Path, tmp_path: Path, capsys: Capture) -> None:
    data = json.loads(checks.read_text())
    for version in (data["schema_version"] + 1, None, "1"):
        data["schema_version"] = version
        other = tmp_path / "other.json"
        other.write_text(json.dumps(data))
        assert "not a reviewtool JSON report (schema 1)" in refused(capsys, checks, other)


def test_a_missing_file_is_refused(checks: Path, tmp_path: Path, capsys: Capture) -> None:
    absent = tmp_path / "absent.json"
    assert f"{absent}: cannot read" in refused(capsys, checks, absent)


def test_a_malformed_finding_is_refused(checks: Path, tmp_path: Path, capsys: Capture) -> None:
    data = json.loads(checks.read_text())
    del data["findings"][0]["rule"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    assert "malformed" in refused(capsys, checks, broken)


def test_a_json_object_that_only_claims_the_schema_is_refused(
    checks: Path, tmp_path: Path, capsys: Capture
) -> None:
    claimed = tmp_path / "claimed.json"
    claimed.write_text('{"schema_version": 1}')
    assert "not a reviewtool JSON report" in refused(capsys, checks, claimed)


@pytest.fixture
def tree_report(tmp_path: Path, capsys: Capture) -> Path:
    """The demo series audited on the demo tree as well (call sites, per-patch deltas)."""
    tree = tmp_path / "demo-tree"
    bundle = FIXTURES / "tree" / "demo-tree.bundle"
    subprocess.run(["git", "clone", "-q", str(bundle), str(tree)], check=True)
    path = tmp_path / "tree.json"
    rule = str(FIXTURES / "demo" / "pte-demo.toml")
    data = audit(capsys, path, str(DEMO), "--tree", str(tree), "--rule", rule, "--no-cache")
    assert data["callsites"] and "callsites_delta" in data["series"]["patches"][0]
    return path


def test_tree_audit_reports_merge(tree_report: Path, capsys: Capture) -> None:
    original = json.loads(tree_report.read_text())
    merged = run_cli(capsys, "merge", str(tree_report), str(tree_report)).json()
    assert merged["findings"] == original["findings"]
    assert merged["callsites"] == original["callsites"]  # the first report's tree audit


def test_the_series_checks_merge_with_a_tree_audit(
    checks: Path, tree_report: Path, capsys: Capture
) -> None:
    result = run_cli(capsys, "merge", str(checks), str(tree_report))
    assert result.code == ExitCode.OK, result.err
    assert fingerprints(result.json()) == fingerprints(json.loads(checks.read_text()))
