"""`reviewtool check`: a range of commits in a real repository becomes the series it will be
sent as, and the repository is only read."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reviewtool.errors import ExitCode, InputError
from reviewtool.intake.gitrange import range_series, resolve_range
from reviewtool.intake.mail import read_sources
from tests.conftest import FIXTURES
from tests.gitrepos import clean_series, commit_file, git, make_repo, snapshot
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "linux")


def rules(result_json: dict[str, object]) -> list[str]:
    findings = result_json["findings"]
    assert isinstance(findings, list)
    return [finding["rule"] for finding in findings]


def test_clean_range_exits_0(repo: Path, capsys: Capture) -> None:
    clean_series(repo, 3)
    result = run_cli(capsys, "check", "-C", str(repo), "--base", "base", "-f", "json")
    assert result.code == ExitCode.OK, result.err
    data = result.json()
    assert rules(data) == []  # no series-no-cover: the cover is written at send time
    assert [p["subject"] for p in data["series"]["patches"]] == [
        f"[PATCH {n}/3] mm: add f{n}" for n in (1, 2, 3)
    ]
    assert data["series"]["base_commit"] == git(repo, "rev-parse", "base").strip()


def test_commit_without_signoff_exits_1(repo: Path, capsys: Capture) -> None:
    commit_file(repo, "mm/f1.c", "int f1;\n", "mm: add f1")
    commit_file(repo, "mm/f2.c", "int f2;\n", "mm: add f2", signoff=False)
    result = run_cli(capsys, "check", "-C", str(repo), "base..HEAD", "-f", "json")
    assert result.code == ExitCode.FINDINGS
    findings = result.json()["findings"]
    assert [(f["rule"], f["patch"]) for f in findings] == [("signoff-missing", 2)]


def test_single_commit_is_an_unnumbered_patch(repo: Path) -> None:
    commit_file(repo, "mm/f1.c", "int f1;\n", "mm: add f1")
    series = range_series(resolve_range(repo, "HEAD~1", None))
    mails = read_sources([series.source])
    assert [m.subject for m in mails] == ["[PATCH] mm: add f1"]


def test_upstream_is_the_default_range(repo: Path, capsys: Capture) -> None:
    git(repo, "branch", "topic", "base")
    git(repo, "checkout", "-q", "topic")
    git(repo, "branch", "--set-upstream-to=master")
    commit_file(repo, "mm/f1.c", "int f1;\n", "mm: add f1", signoff=False)
    result = run_cli(capsys, "check", "-C", str(repo), "-f", "json", "--no-tree")
    assert result.code == ExitCode.FINDINGS
    assert rules(result.json()) == ["signoff-missing"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "the current branch has no upstream"),
        (["nosuch..HEAD"], "nosuch in nosuch..HEAD: not a commit"),
        (["HEAD..HEAD"], "HEAD..HEAD: the range holds no commits"),
        (["--base", "HEAD"], "HEAD..HEAD: the range holds no commits"),
        (["--base", "base", "base.."], "give a range or --base, not both"),
    ],
)
def test_bad_range_exits_2_with_one_line(
    repo: Path, arguments: list[str], message: str, capsys: Capture
) -> None:
    result = run_cli(capsys, "check", "-C", str(repo), *arguments)
    assert result.code == ExitCode.INPUT
    assert result.out == ""
    assert result.err.count("\n") == 1 and message in result.err, result.err


def test_not_a_repository_exits_2(tmp_path: Path, capsys: Capture) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = run_cli(capsys, "check", "-C", str(plain))
    assert result.code == ExitCode.INPUT
    assert result.err == f"reviewtool: error: {plain}: not a git repository\n"


def test_a_merge_in_the_range_is_an_error(repo: Path, capsys: Capture) -> None:
    git(repo, "checkout", "-q", "-b", "side", "base")
    commit_file(repo, "mm/side.c", "int side;\n", "mm: side")
    git(repo, "checkout", "-q", "master")
    commit_file(repo, "mm/f1.c", "int f1;\n", "mm: add f1")
    git(repo, "merge", "-q", "--no-edit", "side")
    with pytest.raises(InputError, match=r"is a merge; a merge cannot be sent as a patch"):
        resolve_range(repo, "base..HEAD", None)
    assert run_cli(capsys, "check", "-C", str(repo), "--base", "base").code == ExitCode.INPUT


def test_range_whose_start_is_not_an_ancestor_starts_at_the_fork(repo: Path) -> None:
    """`origin/master..HEAD` after upstream moved on: the base is where the branch forked."""
    git(repo, "checkout", "-q", "-b", "topic", "base")
    commit_file(repo, "mm/f1.c", "int f1;\n", "mm: add f1")
    git(repo, "checkout", "-q", "master")
    commit_file(repo, "mm/up.c", "int up;\n", "mm: upstream work")
    found = resolve_range(repo, "master..topic", None)
    assert found.base == git(repo, "rev-parse", "base").strip()
    assert found.patches == (git(repo, "rev-parse", "topic").strip(),)


def test_config_and_format_options_of_the_user_do_not_change_the_series(repo: Path) -> None:
    """format.signOff would hide a missing sign-off; format.coverLetter would add a blank cover."""
    git(repo, "config", "format.signOff", "true")
    git(repo, "config", "format.coverLetter", "true")
    git(repo, "config", "format.numbered", "false")
    commit_file(repo, "mm/f1.c", "int f1;\n", "mm: add f1", signoff=False)
    commit_file(repo, "mm/f2.c", "int f2;\n", "mm: add f2", signoff=False)
    mails = read_sources([range_series(resolve_range(repo, "base..", None)).source])
    assert [m.subject for m in mails] == ["[PATCH 1/2] mm: add f1", "[PATCH 2/2] mm: add f2"]
    assert all("Signed-off-by" not in m.body for m in mails)


def test_check_leaves_the_checkout_untouched(repo: Path, capsys: Capture) -> None:
    clean_series(repo, 2)
    commit_file(repo, "mm/f3.c", "int f3;\n", "mm: add f3", signoff=False)
    git(repo, "branch", "other")
    (repo / "mm" / "core.c").write_text("int stashed;\n")
    git(repo, "stash", "-q")
    (repo / "mm" / "f1.c").write_text("int f1; /* staged */\n")
    git(repo, "add", "mm/f1.c")
    (repo / "mm" / "f2.c").write_text("int f2; /* unstaged */\n")
    (repo / "untracked.txt").write_text("mine\n")
    before = snapshot(repo)
    result = run_cli(capsys, "check", "-C", str(repo), "--base", "base", "-f", "json")
    assert result.code == ExitCode.FINDINGS
    tree = result.json()["tree"]
    assert tree["base"] == git(repo, "rev-parse", "base").strip()
    assert [(a["patch"], a["status"]) for a in tree["applied"]] == [(1, "ok"), (2, "ok"), (3, "ok")]
    assert snapshot(repo) == before


@pytest.mark.slow
def test_b4_prep_cover_letter_commit_is_the_cover(repo: Path, capsys: Capture) -> None:
    """A real `b4 prep` branch: the cover commit becomes [PATCH 0/N], not a patch."""
    subprocess.run(
        ["b4", "prep", "-n", "demo", "-f", "master"],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    cover_commit = git(repo, "rev-parse", "HEAD").strip()
    assert "b4-submit-tracking" in git(repo, "show", "-s", "--format=%B", cover_commit)
    clean_series(repo, 2)
    found = resolve_range(repo, "base..", None)
    assert found.cover is not None and found.cover.commit == cover_commit
    assert cover_commit not in found.patches and len(found.patches) == 2
    assert found.base == git(repo, "rev-parse", "base").strip()
    mails = read_sources([range_series(found).source])
    assert [m.subject for m in mails] == [
        "[PATCH 0/2] EDITME: cover title for demo",
        "[PATCH 1/2] mm: add f1",
        "[PATCH 2/2] mm: add f2",
    ]
    cover = mails[0].body
    assert "b4-submit-tracking" not in cover and "change-id" not in cover
    assert "# Describe the purpose" not in cover  # b4 strips its comment lines
    assert "prerequisite-patch-id" not in cover
    result = run_cli(capsys, "check", "-C", str(repo), "--base", "base", "-f", "json")
    assert result.code == ExitCode.OK, result.err
    data = result.json()
    assert data["series"]["cover"] is not None and rules(data) == []
    assert data["series"]["base_commit"] == found.base


@pytest.mark.slow
def test_b4_cover_with_revision_and_prefix(repo: Path) -> None:
    subprocess.run(
        ["b4", "prep", "-n", "demo", "-f", "master", "--set-prefixes", "RFC"],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    clean_series(repo, 2)
    mails = read_sources([range_series(resolve_range(repo, "base..", None)).source])
    assert [m.subject.split("]")[0] for m in mails] == [
        "[PATCH RFC 0/2",
        "[PATCH RFC 1/2",
        "[PATCH RFC 2/2",
    ]


def test_check_audits_call_sites_on_the_demo_tree(tmp_path: Path, capsys: Capture) -> None:
    """The demo series as commits in the demo tree: after patch 1 alone, the three functions
    whose decoding it made unhandled are one contract finding each (the header helper that
    count_ptes() reaches is part of that finding); with patch 2 they are resolved."""
    tree = tmp_path / "demo-tree"
    subprocess.run(
        ["git", "clone", "-q", str(FIXTURES / "tree" / "demo-tree.bundle"), str(tree)], check=True
    )
    git(tree, "checkout", "-q", "-b", "demo", "origin/series/demo")  # demo.mbox as commits
    rule = str(FIXTURES / "demo" / "pte-demo.toml")
    first = run_cli(
        capsys,
        "check",
        "-C",
        str(tree),
        "demo-base..HEAD~2",
        "--rule",
        rule,
        "-f",
        "json",
        "--fail-on",
        "warning",
    )
    assert first.code == ExitCode.FINDINGS, first.err
    contract = [f for f in first.json()["findings"] if f["rule"] == "pte-demo-marker"]
    assert sorted(f["function"] for f in contract) == [
        "pgtable_demo_copy_swap_pte",
        "pgtable_demo_count_ptes",
        "pgtable_demo_zap_pte_range",
    ]
    assert all(f["patch"] == 1 and f["severity"] == "warning" for f in contract)
    count = next(f for f in contract if f["function"] == "pgtable_demo_count_ptes")
    assert "passes this test" in count["message"] and "further uses" in count["message"]
    for finding in contract:  # the tree's own lines around each site, for a report to quote
        lines = {c["line"]: c["text"] for c in finding["context"]}
        assert finding["line"] in lines and len(lines) >= 3
        source = git(tree, "show", f"HEAD~2:{finding['path']}").splitlines()  # the range's end
        assert all(source[n - 1].rstrip() == text for n, text in lines.items())
    whole = run_cli(
        capsys,
        "check",
        "-C",
        str(tree),
        "--base",
        "demo-base",
        "--rule",
        rule,
        "-f",
        "json",
        "--fail-on",
        "never",
    )
    assert whole.code == ExitCode.OK
    data = whole.json()
    assert not [f for f in data["findings"] if f["rule"] == "pte-demo-marker"]
    assert {"whitespace-trailing", "fixes-malformed"} <= set(rules(data))
    assert json.dumps(data["callsites"]).count('"handled"') >= 5


def test_check_leaves_nothing_outside_its_work_dir(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tree audit's temporary repository goes into --work-dir and is removed."""
    tree = tmp_path / "demo-tree"
    subprocess.run(
        ["git", "clone", "-q", str(FIXTURES / "tree" / "demo-tree.bundle"), str(tree)], check=True
    )
    git(tree, "checkout", "-q", "-b", "demo", "origin/series/demo")
    temp, work, cache = (tmp_path / name for name in ("tmp", "work", "cache"))
    for directory in (temp, work):
        directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    rule = str(FIXTURES / "demo" / "pte-demo.toml")
    arguments = ["check", "-C", str(tree), "--base", "demo-base", "--rule", rule]
    result = run_cli(
        capsys, *arguments, "--work-dir", str(work), "--cache-dir", str(cache), "--timeout", "300"
    )
    assert result.code == ExitCode.OK, result.err
    assert list(work.iterdir()) == [] and list(temp.iterdir()) == []
    assert cache.is_dir()
