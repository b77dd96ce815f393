"""JSON (reviewtool.render.json): the contract README documents, sorted keys and a schema
version, the tree audit's and the builds' sections, and hidden characters as escapes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from reviewtool import __version__
from reviewtool.render import render
from reviewtool.render.json import to_dict
from reviewtool.report import SCHEMA_VERSION, Report
from tests.builders import AUTHOR
from tests.render.conftest import REPRODUCE


def _sorted_everywhere(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    assert keys == sorted(keys)
    return dict(pairs)


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


def test_render_is_to_dict_with_sorted_keys_at_every_level(report: Report) -> None:
    text = render(report, "json")
    expected = json.dumps(to_dict(report), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert text == expected
    json.loads(text, object_pairs_hook=_sorted_everywhere)
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["tool"] == {"name": "reviewtool", "version": __version__}
    assert data["sources"] == ["t.mbox"]
    assert "tree" not in data and "build" not in data and "builds" not in data


def test_skipped_messages_and_missing_patches(report: Report, first_patch_on_tree: Report) -> None:
    (skipped,) = to_dict(report)["series"]["skipped"]
    assert (skipped["message_id"], skipped["subject"]) == ("re@x", "Re: [PATCH 1/3] mm: thing 1")
    assert skipped["reason"]
    assert to_dict(first_patch_on_tree)["series"]["missing"] == [2, 3]


def test_the_tree_audit_sections(first_patch_on_tree: Report) -> None:
    data = to_dict(first_patch_on_tree)
    assert data["tree"]["base"] == "45d0b10e97990527974819b768e3acfad1bf66cb"
    assert data["tree"]["base_source"] == "base-commit"
    assert data["tree"]["partial_from"] is None
    (applied,) = data["tree"]["applied"]
    assert (applied["patch"], applied["status"], applied["method"]) == (1, "ok", "git apply")
    (audited,) = data["rules_audited"]
    assert audited["id"] == "pte-demo-marker"
    assert set(audited["live_cases_final"]) - set(audited["live_cases_base"]) == {"marker"}
    assert data["coverage"] == {
        "textual_calls": 9,
        "parsed_call_sites": 9,
        "ratio": 1.0,
        "unparsed": [],
    }
    verdicts = [site["verdict"] for site in data["callsites"]]
    assert (verdicts.count("handled"), verdicts.count("unhandled")) == (4, 5)
    assert all(site["rule"] == "pte-demo-marker" for site in data["callsites"])
    # Three new root causes of patch 1 group the five unhandled sites it made.
    assert {(c["status"], c["patch"], c["verdict"]) for c in data["causes"]} == {
        ("new", 1, "unhandled")
    }
    grouped = sorted(site for cause in data["causes"] for site in cause["sites"])
    delta = data["series"]["patches"][0]["callsites_delta"]
    assert grouped == sorted(delta["unhandled"]) and delta["resolved"] == []
    unhandled = {s["id"] for s in data["callsites"] if s["verdict"] == "unhandled"}
    assert set(grouped) == unhandled
    assert data["preexisting"] == [] and data["summary"]["preexisting"] == 0
    assert data["summary"] == {"error": 2, "warning": 3, "note": 0, "preexisting": 0}


def test_the_build_sections(demo_with_builds: Report) -> None:
    data = to_dict(demo_with_builds)
    assert data["build"] == {
        "path": "linux",
        "base": "45d0b10e97990527974819b768e3acfad1bf66cb",
        "base_source": "base-commit",
        "arches": ["arm64", "s390"],
    }
    assert len(data["builds"]) == 8
    (warned,) = [cell for cell in data["builds"] if cell["status"] == "new_warnings"]
    assert warned == {
        "patch": 2,
        "arch": "arm64",
        "status": "new_warnings",
        "objects": ["mm/pgtable_demo.o"],
        "new_diagnostics": [
            {
                "path": "mm/pgtable_demo.c",
                "line": 92,
                "column": 7,
                "severity": "warning",
                "flag": "-Wunused-variable",
                "message": "unused variable 'x'",
                "function": "pgtable_demo_zap_pte_range",
            }
        ],
        "preexisting_count": 0,
        "preexisting_diagnostics": [],
        "reason": "",
        "toolchain": "gcc",
        "command": REPRODUCE,
    }
    (build,) = [f for f in data["findings"] if f["rule"] == "build"]
    assert build["build"]["reproduce"] == REPRODUCE and build["build"]["arch"] == "arm64"


def test_hidden_characters_become_escapes_and_the_data_stays_the_same(demo: Report) -> None:
    patch = demo.series.patches[0]
    title = "mm: \u202etxt.exe \x7f\x9b end"
    tricky = dataclasses.replace(patch, subject=dataclasses.replace(patch.subject, title=title))
    series = dataclasses.replace(demo.series, patches=(tricky, *demo.series.patches[1:]))
    report = dataclasses.replace(demo, series=series)
    text = render(report, "json")
    assert "\u202e" not in text and "\x7f" not in text and "\x9b" not in text
    assert '"title": "mm: \\u202etxt.exe \\u007f\\u009b end"' in text
    assert json.loads(text) == json.loads(json.dumps(to_dict(report)))
