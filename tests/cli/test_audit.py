"""`reviewtool audit` and `reviewtool rules`: exit codes by --fail-on, broken messages with and
without --keep-going, the tree options, the contracts inferred from a series (and --no-infer),
and the rule lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewtool.errors import ExitCode
from tests.builders import mbox, patch_body, series
from tests.cli.test_rule import ContractSeries, errptr_series, rename_series
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]


def test_clean_series_exits_0(clean: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(clean))
    assert result.code == ExitCode.OK
    assert "no findings" in result.out and result.err == ""


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [("error", 0), ("warning", 1), ("note", 1), ("never", 0)],
)
def test_fail_on(warned: Path, fail_on: str, code: int, capsys: Capture) -> None:
    assert run_cli(capsys, "audit", str(warned), "--fail-on", fail_on).code == code


def test_error_finding_exits_1_by_default(tmp_path: Path, capsys: Capture) -> None:
    msgs = series(1, cover=False)
    msgs[0].body = patch_body(trailers="Acked-by: X <x@example.org>")
    path = tmp_path / "s.mbox"
    path.write_bytes(mbox(msgs))
    result = run_cli(capsys, "audit", str(path), "-f", "json")
    assert result.code == ExitCode.FINDINGS
    assert result.json()["findings"][0]["rule"] == "signoff-missing"


def _corrupt(tmp_path: Path) -> Path:
    msgs = series(3)
    msgs[2].body = msgs[2].body.replace("@@ -1,2 +1,3 @@", "@@ -1,5 +1,6 @@")
    path = tmp_path / "corrupt.mbox"
    path.write_bytes(mbox(msgs))
    return path


def test_corrupt_patch_names_the_message(tmp_path: Path, capsys: Capture) -> None:
    path = _corrupt(tmp_path)
    result = run_cli(capsys, "audit", str(path))
    assert result.code == ExitCode.INPUT
    assert result.err.count("\n") == 1
    assert '<s-2@example.org> "[PATCH 2/3] mm: thing 2": corrupt diff:' in result.err


def test_keep_going_reports_the_good_patches(tmp_path: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(_corrupt(tmp_path)), "--keep-going", "-f", "json")
    assert result.code == ExitCode.FINDINGS
    data = result.json()
    assert [p["number"] for p in data["series"]["patches"]] == [1, 3]
    assert data["series"]["missing"] == []
    assert [(f["rule"], f["patch"]) for f in data["findings"]] == [("message-unparseable", 2)]


def test_rules_lists_every_rule(capsys: Capture) -> None:
    from reviewtool.analysis.checks import RULES

    result = run_cli(capsys, "rules", "--kind", "series")
    assert [line.split()[0] for line in result.out.splitlines()] == list(RULES)
    result = run_cli(capsys, "rules")
    kinds = {line.split()[0]: line.split()[1] for line in result.out.splitlines()}
    assert dict.fromkeys(RULES, "series").items() <= kinds.items()
    assert kinds["apply-fuzzy"] == "tree" and kinds["build"] == "build"
    assert kinds["pte-marker"] == kinds["uffd-wp-special-swap-pte"] == "contract"
    assert run_cli(capsys, "rules", "--kind", "bogus").code == ExitCode.INPUT


def test_list_rules(capsys: Capture) -> None:
    result = run_cli(capsys, "audit", "--list-rules")
    assert result.code == 0
    ids = [line.split()[0] for line in result.out.splitlines()]
    assert {"uffd-wp-special-swap-pte", "pte-marker"} <= set(ids)


def test_tree_options_need_a_tree(clean: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(clean), "--base", "HEAD")
    assert result.code == ExitCode.INPUT
    assert "need --tree" in result.err


def test_unknown_rule_and_bad_tree(clean: Path, tmp_path: Path, capsys: Capture) -> None:
    import subprocess

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "x"],
        check=True,
        env={
            "GIT_AUTHOR_NAME": "a",
            "GIT_AUTHOR_EMAIL": "a@b",
            "GIT_COMMITTER_NAME": "a",
            "GIT_COMMITTER_EMAIL": "a@b",
            "PATH": "/usr/bin:/bin",
        },
    )
    result = run_cli(capsys, "audit", str(clean), "--tree", str(repo), "--rule", "nope")
    assert result.code == ExitCode.INPUT
    assert "no such rule" in result.err
    not_git = tmp_path / "plain"
    not_git.mkdir()
    result = run_cli(capsys, "audit", str(clean), "--tree", str(not_git))
    assert result.code == ExitCode.INPUT
    assert "not a git tree" in result.err


def test_tree_mode_on_the_demo(tmp_path: Path, capsys: Capture) -> None:
    import json
    import subprocess

    from tests.conftest import FIXTURES

    tree = tmp_path / "demo-tree"
    subprocess.run(
        ["git", "clone", "-q", str(FIXTURES / "tree" / "demo-tree.bundle"), str(tree)], check=True
    )
    demo = FIXTURES / "demo" / "demo.mbox"
    rule = FIXTURES / "demo" / "pte-demo.toml"
    result = run_cli(
        capsys,
        "audit",
        str(demo),
        "--tree",
        str(tree),
        "--rule",
        str(rule),
        "--format",
        "json",
        "--no-cache",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    deltas = [p["callsites_delta"] for p in data["series"]["patches"]]
    # Patch 1 makes a marker pte possible; patch 2 teaches the decoders about it.
    assert len(deltas[0]["unhandled"]) == 5 and deltas[0]["resolved"] == []
    assert deltas[1]["unhandled"] == [] and sorted(deltas[1]["resolved"]) == sorted(
        deltas[0]["unhandled"]
    )
    assert all(s["verdict"] == "handled" for s in data["callsites"])
    assert data["coverage"]["parsed_call_sites"] == data["coverage"]["textual_calls"] == 9
    sarif = run_cli(
        capsys,
        "audit",
        str(demo),
        "--tree",
        str(tree),
        "--rule",
        str(rule),
        "--format",
        "sarif",
        "--no-cache",
    )
    assert sarif.code == 0
    markdown = run_cli(
        capsys,
        "audit",
        str(demo),
        "--tree",
        str(tree),
        "--rule",
        str(rule),
        "--format",
        "markdown",
        "--no-cache",
    )
    assert "patch 1: 5 made unhandled, 0 resolved" in markdown.out


# --- more of the command's own checks ---------------------------------------------------------


@pytest.mark.parametrize(
    "option", [["--rule", "pte-marker"], ["--strict-apply"], ["--build"], ["--base", "HEAD"]]
)
def test_every_tree_option_needs_a_tree(option: list[str], clean: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(clean), *option)
    assert result.code == ExitCode.INPUT and result.out == ""
    assert result.err == (
        "reviewtool: error: --base, --rule, --strict-apply and --build need --tree\n"
    )


def test_inbox_series_are_message_ids_not_stdin(capsys: Capture) -> None:
    # Refused before anything is fetched: the archive is never asked.
    result = run_cli(capsys, "audit", "--inbox", "http://127.0.0.1:9/list", "-")
    assert result.code == ExitCode.INPUT
    assert result.err == "reviewtool: error: --inbox: SERIES are Message-Ids, not - (stdin)\n"


def test_stdin_can_be_given_once(capsys: Capture) -> None:
    result = run_cli(capsys, "audit", "-", "-")
    assert result.code == ExitCode.INPUT
    assert result.err == "reviewtool: error: stdin (-) can be given only once\n"


def test_list_rules_needs_no_series_and_names_each_rule_once(capsys: Capture) -> None:
    from reviewtool.analysis.rules import rule_names

    result = run_cli(capsys, "audit", "--list-rules")
    ids = [line.split()[0] for line in result.out.splitlines()]
    assert len(ids) == len(set(ids)) == len(rule_names())


# --- contracts inferred from the series (tree mode) -------------------------------------------
# The tree and series are made by tests/cli/test_rule.py's helpers: get_thing() goes from NULL
# to ERR_PTR(-ENOENT); use() only tests for NULL, use_either_way() tests IS_ERR_OR_NULL().


@pytest.fixture
def errptr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractSeries:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # tree mode caches there
    return errptr_series(tmp_path)


def test_contracts_are_inferred_unless_no_infer(errptr: ContractSeries, capsys: Capture) -> None:
    args = ("audit", str(errptr.mbox), "--tree", str(errptr.tree), "-f", "json")
    result = run_cli(capsys, *args)
    assert result.code == ExitCode.OK, result.err
    data = result.json()
    inferred = [f for f in data["findings"] if f["rule"] == "inferred-contract"]
    (warning,) = [f for f in inferred if f["severity"] == "warning"]
    assert (warning["patch"], warning["function"], warning["path"]) == (1, "use", "mm/user.c")
    assert "[contract inferred from patch 1" in warning["message"]
    assert warning["inferred"]["function"] == "get_thing"
    (note,) = [f for f in inferred if f["severity"] == "note"]
    assert (note["patch"], note["function"], note["path"]) == (1, "get_thing", "mm/thing.c")
    assert not any(f["function"] == "use_either_way" for f in data["findings"])
    (contract,) = data["contracts"]
    assert contract["function"] == "get_thing" and contract["patch"] == 1
    assert contract["inferred"] is True and contract["rule"] == "inferred-contract"
    assert (contract["before"], contract["after"]) == (
        ["NULL", "unknown"],
        ["ERR_PTR(-ENOENT)", "unknown"],
    )
    assert contract["wrappers"] == []
    sites = {s["function"]: (s["verdict"], s["reason"]) for s in contract["callsites"]}
    assert sites == {"use": ("unhandled", "test"), "use_either_way": ("handled", "tested")}

    result = run_cli(capsys, *args, "--no-infer")
    assert result.code == ExitCode.OK, result.err
    data = result.json()
    assert not any(f["rule"] == "inferred-contract" for f in data["findings"])
    assert data["contracts"] == []


def test_text_report_tells_the_inferred_contract(errptr: ContractSeries, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(errptr.mbox), "--tree", str(errptr.tree))
    assert result.code == ExitCode.OK, result.err
    assert "inferred-contract" in result.out
    assert "get_thing(t, 1) in use()" in result.out
    assert "[contract inferred from patch 1: get_thing() in mm/thing.c]" in result.out
    assert "inferred contract: get_thing() can now return ERR_PTR(-ENOENT)" in result.out
    assert "use_either_way" not in result.out


def test_no_contract_inferred_from_a_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    made = rename_series(tmp_path)
    result = run_cli(capsys, "audit", str(made.mbox), "--tree", str(made.tree), "-f", "json")
    assert result.code == ExitCode.OK, result.err
    data = result.json()
    assert data["contracts"] == [] and data["findings"] == []
