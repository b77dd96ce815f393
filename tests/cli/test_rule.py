"""`reviewtool rule infer`: the return contracts a series changes, written as a rule file on
stdout or with -o; the file read back by `reviewtool audit --rule FILE`; a series that changes no
contract; and the command's usage errors (exit 2, one line on stderr).

The trees are small kernel-like git repositories made in tmp_path, and each series is one commit
on them exported with `git format-patch`."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from reviewtool.analysis.contracts import ReturnKind
from reviewtool.analysis.returnrules import kind_text, load_return_rule
from reviewtool.errors import ExitCode
from tests.conftest import FIXTURES, git
from tests.helpers import run_cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Capture = pytest.CaptureFixture[str]

THING_BEFORE = """\
struct thing *get_thing(struct table *table, int id)
{
	struct thing *thing = lookup(table, id);

	if (!thing)
		return NULL;
	return thing;
}
"""

THING_AFTER = THING_BEFORE.replace("return NULL;", "return ERR_PTR(-ENOENT);")

# A local renamed: the body changes, what it returns does not.
THING_RENAMED = THING_BEFORE.replace("*thing =", "*found =").replace("(!thing)", "(!found)")
THING_RENAMED = THING_RENAMED.replace("return thing;", "return found;")

USER = """\
int use(struct table *t)
{
	struct thing *thing = get_thing(t, 1);

	if (!thing)
		return -ENOENT;
	thing->users++;
	return 0;
}

int use_either_way(struct table *t)
{
	struct thing *thing = get_thing(t, 2);

	if (IS_ERR_OR_NULL(thing))
		return -ENOENT;
	thing->users++;
	return 0;
}
"""

NO_CONTRACT_MESSAGE = "reviewtool: no patch of the series changes a return contract\n"


@dataclass(frozen=True)
class ContractSeries:
    """A git tree and a one-patch series made from it; `base` is the commit it applies to."""

    tree: Path
    mbox: Path
    base: str


def contract_series(
    tmp_path: Path,
    files: dict[str, str],
    changed: dict[str, str],
    subject: str,
    *,
    at_base: bool = True,
) -> ContractSeries:
    """A git tree of one commit holding `files`, and the series of one patch (signed off)
    that rewrites the files of `changed`, as an mbox. With at_base, the tree's branch is reset
    to the first commit, so the series applies to HEAD; otherwise HEAD is the patched commit."""
    tree = tmp_path / "linux"
    tree.mkdir()
    git(tree, "init", "-q")
    git(tree, "config", "user.name", "Ana Lima")
    git(tree, "config", "user.email", "ana.lima@example.com")
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "base")
    base = git(tree, "rev-parse", "HEAD").strip()
    for name, text in changed.items():
        (tree / name).write_text(text)
    message = f"{subject}\n\nSigned-off-by: Ana Lima <ana.lima@example.com>"
    git(tree, "commit", "-qam", message)
    mbox = tmp_path / "series.mbox"
    mbox.write_text(git(tree, "format-patch", "-1", "--stdout"))
    if at_base:
        git(tree, "reset", "-q", "--hard", base)
    return ContractSeries(tree, mbox, base)


def errptr_series(tmp_path: Path, *, at_base: bool = True) -> ContractSeries:
    """get_thing() returned NULL when the lookup failed; the patch makes it ERR_PTR(-ENOENT).
    use() only tests for NULL; use_either_way() tests IS_ERR_OR_NULL()."""
    files = {"mm/thing.c": THING_BEFORE, "mm/user.c": USER}
    subject = "mm: get_thing() returns ERR_PTR(-ENOENT) when there is none"
    return contract_series(tmp_path, files, {"mm/thing.c": THING_AFTER}, subject, at_base=at_base)


def rename_series(tmp_path: Path) -> ContractSeries:
    """A patch that renames a local of get_thing(): no return contract changes."""
    files = {"mm/thing.c": THING_BEFORE, "mm/user.c": USER}
    changed = {"mm/thing.c": THING_RENAMED}
    return contract_series(tmp_path, files, changed, "mm: rename a local of get_thing()")


def fixture_series(tmp_path: Path, name: str) -> ContractSeries:
    """A series from fixtures/contracts/NAME: mm/callee.c goes from callee.before.c to
    callee.after.c; mm/callers.c holds the callers."""
    directory = FIXTURES / "contracts" / name
    files = {
        "mm/callee.c": (directory / "callee.before.c").read_text(),
        "mm/callers.c": (directory / "callers.c").read_text(),
    }
    changed = {"mm/callee.c": (directory / "callee.after.c").read_text()}
    return contract_series(tmp_path, files, changed, f"mm: {name}")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tree mode caches under XDG_CACHE_HOME: keep it in this test's directory."""
    path = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(path))
    return path


@pytest.fixture
def errptr(tmp_path: Path, cache: Path) -> ContractSeries:
    return errptr_series(tmp_path)


def _texts(kinds: frozenset[ReturnKind]) -> set[str]:
    return {kind_text(kind) for kind in kinds}


# --- the rule file ---------------------------------------------------------------------------


def test_infer_writes_the_rule_on_stdout(errptr: ContractSeries, capsys: Capture) -> None:
    result = run_cli(capsys, "rule", "infer", str(errptr.mbox), "--tree", str(errptr.tree))
    assert result.code == ExitCode.OK, result.err
    assert result.err == ""
    rule = tomllib.loads(result.out)
    assert rule["id"] == "returns-get_thing"
    assert "get_thing()" in rule["title"] and "ERR_PTR(-ENOENT)" in rule["title"]
    assert rule["returns"] == [
        {
            "function": "get_thing",
            "path": "mm/thing.c",
            "patch": 1,
            "type_before": "struct thing *",
            "type": "struct thing *",
            "before": ["NULL", "unknown"],
            "after": ["ERR_PTR(-ENOENT)", "unknown"],
        }
    ]


def test_infer_writes_the_rule_to_a_file(
    errptr: ContractSeries, tmp_path: Path, capsys: Capture
) -> None:
    stdout = run_cli(capsys, "rule", "infer", str(errptr.mbox), "--tree", str(errptr.tree)).out
    path = tmp_path / "get_thing.toml"
    args = ("rule", "infer", str(errptr.mbox), "--tree", str(errptr.tree), "-o", str(path))
    result = run_cli(capsys, *args)
    assert result.code == ExitCode.OK, result.err
    assert result.out == result.err == ""
    assert path.read_text() == stdout
    rule_id, (contract,) = load_return_rule(str(path))
    assert rule_id == "returns-get_thing"
    assert (contract.function, contract.path, contract.patch) == ("get_thing", "mm/thing.c", 1)
    assert _texts(contract.before) == {"NULL", "unknown"}
    assert _texts(contract.after) == {"ERR_PTR(-ENOENT)", "unknown"}


def test_infer_applies_on_base(tmp_path: Path, cache: Path, capsys: Capture) -> None:
    # HEAD already holds the patch: applied there (by 3-way merge) it changes nothing; on
    # --base, the commit before it, it changes get_thing()'s contract.
    made = errptr_series(tmp_path, at_base=False)
    args = ("rule", "infer", str(made.mbox), "--tree", str(made.tree))
    assert run_cli(capsys, *args).err == NO_CONTRACT_MESSAGE
    result = run_cli(capsys, *args, "--base", made.base)
    assert result.code == ExitCode.OK, result.err
    assert tomllib.loads(result.out)["returns"][0]["after"] == ["ERR_PTR(-ENOENT)", "unknown"]


@pytest.mark.parametrize(
    ("name", "function", "types", "before", "after"),
    [
        (
            "null-to-errptr",
            "get_thing",
            ("struct thing *", "struct thing *"),
            {"NULL", "unknown"},
            {"ERR_PTR(-ENOENT)", "unknown"},
        ),
        ("int-to-bool", "grab_page", ("int", "bool"), {"0", "-EBUSY"}, {"true", "false"}),
    ],
)
def test_infer_reads_the_fixture_contracts(
    name: str,
    function: str,
    types: tuple[str, str],
    before: set[str],
    after: set[str],
    tmp_path: Path,
    cache: Path,
    capsys: Capture,
) -> None:
    made = fixture_series(tmp_path, name)
    path = tmp_path / "rule.toml"
    args = ("rule", "infer", str(made.mbox), "--tree", str(made.tree), "-o", str(path))
    assert run_cli(capsys, *args).code == ExitCode.OK
    rule_id, (contract,) = load_return_rule(str(path))
    assert rule_id == f"returns-{function}"
    assert (contract.function, contract.path) == (function, "mm/callee.c")
    assert (contract.type_before.text, contract.type_after.text) == types
    assert (_texts(contract.before), _texts(contract.after)) == (before, after)


def test_infer_leaves_the_tree_and_work_dir_as_they_were(
    errptr: ContractSeries, tmp_path: Path, capsys: Capture
) -> None:
    def state() -> tuple[str, str, str]:
        return (
            git(errptr.tree, "rev-parse", "HEAD"),
            git(errptr.tree, "status", "--porcelain", "--ignored"),
            git(errptr.tree, "for-each-ref"),
        )

    before = state()
    work = tmp_path / "work"
    work.mkdir()
    args = ("rule", "infer", str(errptr.mbox), "--tree", str(errptr.tree))
    assert run_cli(capsys, *args, "--work-dir", str(work)).code == ExitCode.OK
    assert state() == before
    assert list(work.iterdir()) == []


# --- the round trip through audit --rule FILE --------------------------------------------------


def test_audit_reads_the_inferred_rule_file(
    errptr: ContractSeries, tmp_path: Path, capsys: Capture
) -> None:
    path = tmp_path / "get_thing.toml"
    tree = ("--tree", str(errptr.tree))
    assert run_cli(capsys, "rule", "infer", str(errptr.mbox), *tree, "-o", str(path)).code == 0
    result = run_cli(
        capsys,
        "audit",
        str(errptr.mbox),
        *tree,
        "--rule",
        str(path),
        "--no-infer",
        "--format",
        "json",
    )
    assert result.code == ExitCode.OK, result.err
    data = result.json()
    warnings = [f for f in data["findings"] if f["severity"] == "warning"]
    assert [(f["rule"], f["function"], f["path"], f["patch"]) for f in warnings] == [
        ("returns-get_thing", "use", "mm/user.c", 1)
    ]
    assert "[contract from rule returns-get_thing" in warnings[0]["message"]
    assert not any(f["function"] == "use_either_way" for f in data["findings"])
    assert {f["rule"] for f in data["findings"]} == {"returns-get_thing"}  # --no-infer
    (contract,) = data["contracts"]
    assert (contract["function"], contract["inferred"]) == ("get_thing", False)
    verdicts = {site["function"]: site["verdict"] for site in contract["callsites"]}
    assert verdicts == {"use": "unhandled", "use_either_way": "handled"}


def test_audit_reads_an_edited_rule_file(
    errptr: ContractSeries, tmp_path: Path, capsys: Capture
) -> None:
    # The user says get_thing() still returns NULL only: no caller is left unhandled.
    path = tmp_path / "get_thing.toml"
    tree = ("--tree", str(errptr.tree))
    run_cli(capsys, "rule", "infer", str(errptr.mbox), *tree, "-o", str(path))
    text = path.read_text().replace('after = ["ERR_PTR(-ENOENT)", "unknown"]', 'after = ["NULL"]')
    path.write_text(text)
    args = ("audit", str(errptr.mbox), *tree, "--rule", str(path), "--no-infer", "-f", "json")
    result = run_cli(capsys, *args)
    assert result.code == ExitCode.OK, result.err
    assert [f["severity"] for f in result.json()["findings"]] == ["note"]


# --- a series that changes no contract ---------------------------------------------------------


def test_no_contract_changed(tmp_path: Path, cache: Path, capsys: Capture) -> None:
    made = rename_series(tmp_path)
    output = tmp_path / "rule.toml"
    args = ("rule", "infer", str(made.mbox), "--tree", str(made.tree))
    result = run_cli(capsys, *args)
    assert (result.code, result.out, result.err) == (ExitCode.OK, "", NO_CONTRACT_MESSAGE)
    result = run_cli(capsys, *args, "-o", str(output))
    assert (result.code, result.out, result.err) == (ExitCode.OK, "", NO_CONTRACT_MESSAGE)
    assert not output.exists()


def test_a_patch_that_does_not_apply_is_not_reported_as_no_change(
    errptr: ContractSeries, tmp_path: Path, capsys: Capture
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "README").write_text("no mm/thing.c here\n")
    git(other, "init", "-q")
    git(other, "config", "user.name", "Ana Lima")
    git(other, "config", "user.email", "ana.lima@example.com")
    git(other, "add", "-A")
    git(other, "commit", "-qm", "base")
    result = run_cli(capsys, "rule", "infer", str(errptr.mbox), "--tree", str(other))
    assert (result.code, result.out) == (ExitCode.FINDINGS, "")
    assert "patch 1 does not apply: mm/thing.c" in result.err, result.err
    assert "no patch that applied of the series" in result.err


# --- usage errors --------------------------------------------------------------------------------


def _one_error_line(err: str) -> None:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("reviewtool:"), err


def test_series_is_required(capsys: Capture, tmp_path: Path) -> None:
    result = run_cli(capsys, "rule", "infer", "--tree", str(tmp_path))
    assert (result.code, result.out) == (ExitCode.INPUT, "")
    _one_error_line(result.err)
    assert "missing SERIES" in result.err


def test_tree_is_required(errptr: ContractSeries, capsys: Capture) -> None:
    result = run_cli(capsys, "rule", "infer", str(errptr.mbox))
    assert (result.code, result.out) == (ExitCode.INPUT, "")
    _one_error_line(result.err)
    assert "--tree is required" in result.err


def test_tree_must_be_a_git_tree(errptr: ContractSeries, tmp_path: Path, capsys: Capture) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = run_cli(capsys, "rule", "infer", str(errptr.mbox), "--tree", str(plain))
    assert (result.code, result.out) == (ExitCode.INPUT, "")
    _one_error_line(result.err)
    assert result.err == f"reviewtool: error: {plain}: not a git tree\n"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--base", "no-such-revision"], "--base no-such-revision: not a commit"),
        (["--work-dir", "no-such-directory"], "--work-dir no-such-directory: not a directory"),
        (["--max-input-size", "1"], "is over the input size limit of 1 bytes"),
    ],
)
def test_bad_options_exit_2(
    option: list[str], message: str, errptr: ContractSeries, capsys: Capture
) -> None:
    args = ("rule", "infer", str(errptr.mbox), "--tree", str(errptr.tree), *option)
    result = run_cli(capsys, *args)
    assert (result.code, result.out) == (ExitCode.INPUT, "")
    _one_error_line(result.err)
    assert message in result.err


@pytest.mark.parametrize("link", [False, True], ids=["same-path", "symlink"])
def test_output_never_overwrites_the_series(
    link: bool, errptr: ContractSeries, tmp_path: Path, capsys: Capture
) -> None:
    before = errptr.mbox.read_bytes()
    output = errptr.mbox
    if link:
        output = tmp_path / "rule.toml"
        output.symlink_to(errptr.mbox)
    args = ("rule", "infer", str(errptr.mbox), "--tree", str(errptr.tree), "-o", str(output))
    result = run_cli(capsys, *args)
    assert (result.code, result.out) == (ExitCode.INPUT, "")
    _one_error_line(result.err)
    assert "--output would overwrite the input series" in result.err
    assert errptr.mbox.read_bytes() == before


def test_output_never_overwrites_a_patch_of_a_series_directory(
    errptr: ContractSeries, tmp_path: Path, capsys: Capture
) -> None:
    directory = tmp_path / "patches"
    directory.mkdir()
    patch = directory / "0001-mm-get_thing.patch"
    patch.write_bytes(errptr.mbox.read_bytes())
    args = ("rule", "infer", str(directory), "--tree", str(errptr.tree), "-o", str(patch))
    result = run_cli(capsys, *args)
    assert patch.read_bytes() == errptr.mbox.read_bytes()
    assert result.code == ExitCode.INPUT
