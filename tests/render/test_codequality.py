"""GitLab Code Quality: the fields GitLab requires, a path for every issue, unique fingerprints."""

from __future__ import annotations

import json
from typing import Any

from reviewtool.cli.options import OutputFormat
from reviewtool.intake.mail import Source
from reviewtool.render import FORMATTERS, render
from reviewtool.review import AuditOptions, run
from tests.builders import mbox, patch_body, series


def _issues(source: str = "series.mbox") -> list[dict[str, Any]]:
    msgs = series(2)
    msgs[1].body = patch_body("mm/f1.c", ["int a; ", "int a; ", " \tint b;"])
    msgs[2].body = patch_body("mm/f2.c", trailers="")  # signoff-missing: no path
    report = run([Source(source, data=mbox(msgs))], AuditOptions())
    data = json.loads(render(report, "codequality"))
    assert isinstance(data, list)
    assert len(data) == len(report.findings)
    return data


def test_every_issue_has_the_required_fields() -> None:
    for issue in _issues():
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"]
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        location = issue["location"]
        assert isinstance(location["path"], str) and location["path"]
        assert not location["path"].startswith("/")
        assert isinstance(location["lines"]["begin"], int) and location["lines"]["begin"] >= 1


def test_fingerprints_are_unique_and_paths_placed() -> None:
    issues = _issues()
    prints = [issue["fingerprint"] for issue in issues]
    assert len(prints) == len(set(prints))
    by_rule = {
        (i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues
    }
    assert ("whitespace-trailing", "mm/f1.c", 2) in by_rule
    assert ("whitespace-trailing", "mm/f1.c", 3) in by_rule
    assert ("signoff-missing", "series.mbox", 1) in by_rule
    signoff = next(i for i in issues if i["check_name"] == "signoff-missing")
    assert signoff["severity"] == "major" and signoff["description"].startswith("2/2: ")


def test_no_relative_input_gives_the_placeholder_path() -> None:
    for source in ("/abs/series.mbox", "<stdin>", "../outside.mbox"):
        signoff = next(i for i in _issues(source) if i["check_name"] == "signoff-missing")
        assert signoff["location"]["path"] == "series"


def test_the_cli_offers_the_format() -> None:
    assert OutputFormat.codequality.value in FORMATTERS
