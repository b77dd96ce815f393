"""The wording the human-readable renderers share (reviewtool.render.common), on real reports:
the demo series alone, on its tree, and with a build matrix."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from reviewtool.findings import BuildFacts, Finding, Severity
from reviewtool.intake.mail import Source
from reviewtool.render.common import (
    build_lines,
    full_message,
    headline,
    json_safe,
    patch_label,
    place,
    plural,
    totals,
    tree_lines,
    unique_fingerprints,
    visible,
)
from reviewtool.report import Report
from reviewtool.review import AuditOptions, run
from tests.builders import mbox, patch_body, series
from tests.render.conftest import DEMO, REPRODUCE, on_tree


def _built(msgs_total: int, *, cover: bool, added: list[str] | None = None) -> Report:
    msgs = series(msgs_total, cover=cover)
    if added is not None:
        msgs[-1].body = patch_body(f"mm/f{msgs_total}.c", added)
    return run([Source("t.mbox", data=mbox(msgs))], AuditOptions())


# --- headline, plural, totals -------------------------------------------------------------------


def test_headline_counts_patches_files_and_lines(demo: Report, report: Report) -> None:
    assert headline(demo) == "v2, 3 of 3 patches, with cover letter, 5 files, +59 -6"
    assert headline(report) == "v1, 3 of 3 patches, with cover letter, 3 files, +3 -0"
    assert headline(_built(2, cover=False)) == (
        "v1, 2 of 2 patches, no cover letter, 2 files, +2 -0"
    )


def test_headline_of_an_incomplete_series_counts_what_is_there(
    first_patch_on_tree: Report,
) -> None:
    assert headline(first_patch_on_tree).startswith("v2, 1 of 3 patches, with cover letter, ")


def test_headline_of_a_one_file_series_is_singular() -> None:
    assert headline(_built(1, cover=False)) == (
        "v1, 1 of 1 patches, no cover letter, 1 file, +1 -0"
    )


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [(0, "finding", "0 findings"), (1, "finding", "1 finding"), (2, "warning", "2 warnings")],
)
def test_plural(count: int, noun: str, expected: str) -> None:
    assert plural(count, noun) == expected


def test_totals_in_severity_order_leaving_out_the_absent(demo: Report, report: Report) -> None:
    assert totals(demo) == "3 warnings"
    assert totals(report) == "3 warnings, 1 note"
    error = Finding("signoff-missing", Severity.ERROR, "no Signed-off-by: line", patch=1)
    assert totals(dataclasses.replace(report, findings=(*report.findings, error))) == (
        "1 error, 3 warnings, 1 note"
    )
    assert totals(_built(2, cover=True)) == "no findings"


# --- one finding: place, full_message, patch_label ------------------------------------------


def test_place_is_path_and_line_or_path_or_nothing(demo: Report) -> None:
    assert [place(f) for f in demo.findings] == ["mm/pgtable_demo.c:91", "", ""]
    assert place(Finding("apply-failed", Severity.ERROR, "m", path="mm/a.c")) == "mm/a.c"


def test_full_message_adds_the_reproduce_command_of_a_build_finding(
    demo_with_builds: Report,
) -> None:
    (build,) = [f for f in demo_with_builds.findings if f.rule == "build"]
    assert full_message(build) == (
        f"arm64 (gcc): warning: unused variable 'x' [-Wunused-variable]; reproduce: {REPRODUCE}"
    )
    assert build.build is not None
    silent = dataclasses.replace(build, build=dataclasses.replace(build.build, reproduce=""))
    assert full_message(silent) == build.message
    assert all(full_message(f) == f.message for f in demo_with_builds.findings if not f.build)


def test_patch_label_names_the_series_the_cover_or_k_of_n(demo: Report) -> None:
    assert patch_label(demo, None) == "series"
    assert patch_label(demo, 0) == "cover"
    assert [patch_label(demo, f.patch) for f in demo.findings] == ["2/3", "3/3", "3/3"]


# --- the tree audit's and the builds' summaries ---------------------------------------------


def test_no_tree_audit_and_no_builds_no_lines(demo: Report) -> None:
    assert tree_lines(demo) == [] and build_lines(demo) == []


def test_tree_lines_of_the_demo_on_its_tree(demo_tree: Path) -> None:
    report = on_tree(demo_tree, DEMO.read_bytes())
    assert tree_lines(report) == [
        f"Tree: {demo_tree} at 45d0b10e9799 (base-commit)",
        "  applied: 3 ok",
        "Rule pte-demo-marker: 9 call sites after the series (9 handled); "
        "coverage 9/9 textual calls parsed",
        "  patch 1: 5 made unhandled, 0 resolved",
        "  patch 2: 0 made unhandled, 5 resolved",
    ]


def test_tree_lines_count_the_root_causes_a_patch_makes(first_patch_on_tree: Report) -> None:
    lines = tree_lines(first_patch_on_tree)
    assert lines[1:] == [
        "  applied: 1 ok",
        "Rule pte-demo-marker: 9 call sites after the series (4 handled, 5 unhandled); "
        "coverage 9/9 textual calls parsed",
        "  root causes: 3 new",
        "  patch 1: 5 made unhandled, 0 resolved",
    ]


def test_tree_lines_name_each_failed_hunk_and_the_partial_states(demo_tree: Path) -> None:
    report = on_tree(demo_tree, DEMO.read_bytes(), base="demo-base~2")
    lines = tree_lines(report)
    assert lines[0] == f"Tree: {demo_tree} at c397122c358b (--base)"
    assert lines[1:4] == [
        "  applied: 2 ok; 1 failed (3)",
        "  patch 3: arch/s390/mm/hugetlbpage.c hunk 1 (@@ -52 @@): context does not match "
        "the tree (git: patch failed at line 52)",
        "  states after patch 3 are partially applied",
    ]


def test_build_lines_are_the_matrix_then_each_reason_once(demo_with_builds: Report) -> None:
    assert build_lines(demo_with_builds) == [
        "Builds (patch x arch): ok = ok; new_warnings = WARN; new_errors = ERROR; "
        "preexisting = pre; not_built = n/b",
        "  patch     arm64     s390",
        "   base        ok      n/b",
        "      1        ok      n/b",
        "      2      WARN      n/b",
        "      3       pre      n/b",
        "  s390: no toolchain for s390: install gcc-s390x-linux-gnu",
    ]


def test_build_lines_mark_a_missing_cell_and_widen_for_long_names(
    demo_with_builds: Report,
) -> None:
    builds = demo_with_builds.builds
    assert builds is not None
    cells = tuple(c for c in builds.cells if (c.patch, c.arch) != (3, "arm64"))
    renamed = tuple(dataclasses.replace(c, arch="loongarch") if c.arch == "s390" else c
                    for c in cells)  # fmt: skip
    wider = dataclasses.replace(builds, cells=renamed, arches=("arm64", "loongarch"))
    lines = build_lines(dataclasses.replace(demo_with_builds, builds=wider))
    assert lines[1:6] == [
        "  patch      arm64 loongarch",
        "   base         ok       n/b",
        "      1         ok       n/b",
        "      2       WARN       n/b",
        "      3          -       n/b",
    ]


# --- text that is safe to show ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown", "escaped"),
    [
        ("\x1b", "\\x1b", "\\u001b"),
        ("\x00", "\\x00", "\\u0000"),
        ("\r", "\\x0d", "\\r"),  # json.dumps escapes C0 controls itself
        ("\x7f", "\\x7f", "\\u007f"),
        ("\x9b", "\\x9b", "\\u009b"),
        ("\u202e", "[U+202E]", "\\u202e"),
        ("\u2066", "[U+2066]", "\\u2066"),
        ("\u200b", "[U+200B]", "\\u200b"),
        ("\ufeff", "[U+FEFF]", "\\ufeff"),
    ],
)
def test_visible_and_json_safe_spell_out_each_hidden_character(
    raw: str, shown: str, escaped: str
) -> None:
    assert visible(f"a{raw}b") == f"a{shown}b"
    text = json.dumps({"k": f"a{raw}b"}, ensure_ascii=False)
    assert json_safe(text) == f'{{"k": "a{escaped}b"}}'
    assert json.loads(json_safe(text)) == json.loads(text)


def test_tabs_newlines_and_printable_text_stay_as_they_are() -> None:
    text = "int\tx;\n/* café — ünïcode ✓ */\n"
    assert visible(text) == text
    assert json_safe(json.dumps(text, ensure_ascii=False)) == json.dumps(text, ensure_ascii=False)


# --- fingerprints ----------------------------------------------------------------------------


def test_unique_fingerprints_number_the_repeats_of_one_fingerprint() -> None:
    report = _built(1, cover=False, added=["int a; ", "int b; ", "int a; ", "int a; "])
    findings = tuple(f for f in report.findings if f.rule == "whitespace-trailing")
    assert len(findings) == 4
    first, second = findings[0].fingerprint, findings[1].fingerprint
    assert unique_fingerprints(findings) == [first, second, f"{first}:2", f"{first}:3"]
    # Line numbers are not part of them: an added line above changes nothing.
    shifted = _built(1, cover=False, added=["int z;", "int a; ", "int b; ", "int a; ", "int a; "])
    again = tuple(f for f in shifted.findings if f.rule == "whitespace-trailing")
    assert [f.line for f in again] == [f.line + 1 for f in findings if f.line is not None]
    assert unique_fingerprints(again) == unique_fingerprints(findings)


def test_distinct_findings_keep_their_own_fingerprint(demo_with_builds: Report) -> None:
    findings = demo_with_builds.findings
    assert unique_fingerprints(findings) == [f.fingerprint for f in findings]
    assert len(set(unique_fingerprints(findings))) == len(findings) == 4


def test_build_facts_do_not_change_the_fingerprint() -> None:
    finding = Finding("build", Severity.WARNING, "m", path="mm/a.c", key="k")
    built = dataclasses.replace(finding, build=BuildFacts("arm64", "gcc", ("d",), "make"))
    assert unique_fingerprints((finding, built)) == [
        finding.fingerprint,
        f"{finding.fingerprint}:2",
    ]
