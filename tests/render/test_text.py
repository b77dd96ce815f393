"""Terminal text (reviewtool.render.text): plain aligned text, or rich tables on a terminal; the
tree audit, the build matrix and each finding's evidence, and nothing the input could make a
terminal obey."""

from __future__ import annotations

import dataclasses
import re

from reviewtool.findings import Finding, Location, Severity
from reviewtool.intake.mail import Source
from reviewtool.render import RenderOptions, render
from reviewtool.render.common import build_lines, tree_lines
from reviewtool.report import Report
from reviewtool.review import AuditOptions, run
from tests.builders import mbox, series
from tests.render.conftest import REPRODUCE

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_text_plain_and_rich(report: Report) -> None:
    plain = render(report, "text")
    assert "Series: [PATCH 0/3] mm: things" in plain
    assert "\x1b[" not in plain
    assert "warning 2/3     whitespace-trailing: trailing whitespace [mm/f2.c:2]" in plain
    rich = render(report, "text", RenderOptions(rich=True, width=120))
    assert "\x1b[" in rich and "whitespace-trailing" in rich


def test_plain_flags_the_patches_with_findings(demo: Report) -> None:
    lines = render(demo, "text").splitlines()
    assert lines[5:8] == [
        "  1/3 mm/pgtable_demo: add marker pte helpers  (2 files, +35 -3)",
        "  2/3 mm/pgtable_demo: handle marker ptes when counting, copying and zapping"
        "  (1 file, +18 -1)  [1 finding]",
        "  3/3 arm64/s390: hugetlb: handle marker ptes in set_huge_pte_at()"
        "  (2 files, +6 -2)  [2 findings]",
    ]


def test_plain_shows_the_tree_audit_and_each_findings_path(first_patch_on_tree: Report) -> None:
    text = render(first_patch_on_tree, "text")
    lines = text.splitlines()
    tree = tree_lines(first_patch_on_tree)
    start = lines.index(tree[0])
    assert lines[start : start + len(tree)] == tree
    assert start < lines.index("Findings: 2 errors, 3 warnings")
    first = lines.index(
        "  warning 1/3     pte-demo-marker: pte_demo_to_swp_entry(pte) in "
        "pgtable_demo_copy_swap_pte(): (b) reaches pte_demo_to_swp_entry() unguarded "
        "[mm/pgtable_demo.c:41]"
    )
    assert lines[first + 1 : first + 3] == [
        "      mm/pgtable_demo.c:40: pte gets ptep_get(src_ptep)",
        "      mm/pgtable_demo.c:41: pte_demo_to_swp_entry(pte) with (b)",
    ]
    assert (
        "      also mm/pgtable_demo.c:25: pte_demo_to_swp_entry(pte) in "
        "pgtable_demo_count_ptes(): (b) reaches pte_demo_to_swp_entry() unguarded"
    ) in lines
    assert (
        lines[-1] == "  error   3/3     series-missing-patch: patch 3/3 is missing (1 of 3 present)"
    )


def test_plain_shows_the_build_matrix_and_how_to_reproduce(demo_with_builds: Report) -> None:
    text = render(demo_with_builds, "text")
    matrix = "\n".join(build_lines(demo_with_builds))
    assert f"\n\n{matrix}\n\nFindings: 4 warnings\n" in text
    assert (
        "  warning 2/3     build: arm64 (gcc): warning: unused variable 'x' [-Wunused-variable]"
        f"; reproduce: {REPRODUCE} [mm/pgtable_demo.c:92]\n"
    ) in text


def test_plain_without_cover_base_or_findings() -> None:
    report = run([Source("t.mbox", data=mbox(series(2, cover=False)))], AuditOptions())
    report = dataclasses.replace(report, findings=())
    text = render(report, "text")
    assert "cover:" not in text and "base-commit:" not in text
    assert not re.search(r"\[\d+ findings?\]", text)
    assert text.endswith("\nFindings: no findings\n")


def test_rich_shows_markup_in_the_input_as_text_and_keeps_to_its_width(demo: Report) -> None:
    patch = demo.series.patches[0]
    title = "[bold red]not markup[/bold red] \x1b[2J"
    tricky = dataclasses.replace(patch, subject=dataclasses.replace(patch.subject, title=title))
    series = dataclasses.replace(demo.series, patches=(tricky, *demo.series.patches[1:]))
    text = render(
        dataclasses.replace(demo, series=series), "text", RenderOptions(rich=True, width=72)
    )
    shown = ANSI.sub("", text)
    assert "[bold red]not" in shown and "\\x1b[2J" in shown
    assert "\x1b[2J" not in text
    assert max(len(line) for line in shown.splitlines()) <= 72
    assert "Findings: 3 warnings" in shown


def test_an_evidence_step_without_a_line_names_the_file_only(demo: Report) -> None:
    fuzzy = Finding(
        rule="apply-fuzzy",
        severity=Severity.NOTE,
        message="applied by 3-way merge, not cleanly",
        patch=2,
        path="mm/pgtable_demo.c",
        evidence=(Location("mm/pgtable_demo.c", None, "hunk 2: context does not match"),),
    )
    text = render(dataclasses.replace(demo, findings=(fuzzy,)), "text")
    assert "      mm/pgtable_demo.c: hunk 2: context does not match\n" in text
