"""`git config reviewtool.*`: read as git resolves it, validated, and beaten by the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewtool import config
from reviewtool.errors import ExitCode, InputError
from tests.gitrepos import clean_series, commit_file, git, make_repo
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "linux")


def test_nothing_configured(repo: Path) -> None:
    assert config.load(repo) == config.Settings()


def test_every_key(repo: Path) -> None:
    git(repo, "config", "reviewtool.failOn", "warning")
    git(repo, "config", "reviewtool.format", "JSON")
    git(repo, "config", "--add", "reviewtool.rule", "pte-marker")
    git(repo, "config", "--add", "reviewtool.rule", "rules/mine.toml")
    git(repo, "config", "reviewtool.build", "yes")
    git(repo, "config", "--add", "reviewtool.arch", "arm64, s390")
    git(repo, "config", "--add", "reviewtool.arch", "x86_64")
    git(repo, "config", "reviewtool.toolchain", "clang")
    git(repo, "config", "reviewtool.cacheDir", "~/rt-cache")
    git(repo, "config", "reviewtool.tree", "off")
    git(repo, "config", "reviewtool.emailFrom", "Review Bot <bot@example.org>")
    assert config.load(repo) == config.Settings(
        fail_on="warning",
        format="json",
        rules=("pte-marker", "rules/mine.toml"),
        build=True,
        arches=("arm64", "s390", "x86_64"),
        toolchain="clang",
        cache_dir=Path.home() / "rt-cache",
        tree=False,
        email_from="Review Bot <bot@example.org>",
    )


def test_repository_config_beats_global_config(repo: Path) -> None:
    git(repo, "config", "--global", "reviewtool.failOn", "note")
    git(repo, "config", "--global", "reviewtool.toolchain", "gcc")
    assert config.load(repo).fail_on == "note"
    git(repo, "config", "reviewtool.failOn", "never")
    settings = config.load(repo)
    assert (settings.fail_on, settings.toolchain) == ("never", "gcc")


def test_a_key_without_value_is_true() -> None:
    assert config.parse(b"reviewtool.build\0reviewtool.tree\nfalse\0").build is True
    assert config.parse(b"reviewtool.tree\nfalse\0").tree is False


def test_real_git_valueless_key(repo: Path) -> None:
    with (repo / ".git" / "config").open("a") as handle:
        handle.write("[reviewtool]\n\tbuild\n")
    assert config.load(repo).build is True


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("reviewtool.failOn", "fatal", "git config reviewtool.failOn: invalid value 'fatal'"),
        ("reviewtool.format", "html", "git config reviewtool.format: invalid value 'html'"),
        ("reviewtool.build", "maybe", "git config reviewtool.build: invalid value 'maybe'"),
        ("reviewtool.tree", "2", "git config reviewtool.tree: invalid value '2'"),
        ("reviewtool.toolchain", "icc", "git config reviewtool.toolchain: invalid value 'icc'"),
        ("reviewtool.emailFrom", "bot", "git config reviewtool.emailFrom: 'bot' is not an email"),
    ],
)
def test_invalid_values_name_the_key(repo: Path, key: str, value: str, message: str) -> None:
    git(repo, "config", key, value)
    with pytest.raises(InputError, match=message):
        config.load(repo)


def test_invalid_value_exits_2_with_one_line(repo: Path, capsys: Capture) -> None:
    clean_series(repo)
    git(repo, "config", "reviewtool.failOn", "fatal")
    result = run_cli(capsys, "check", "-C", str(repo), "--base", "base")
    assert result.code == ExitCode.INPUT
    assert result.err.count("\n") == 1 and "reviewtool.failOn" in result.err


@pytest.fixture
def warned(repo: Path) -> Path:
    """A range whose only finding is a warning (an added line ending in a space)."""
    commit_file(repo, "mm/f1.c", "int f1; \n", "mm: add f1")
    return repo


def test_fail_on_precedence_in_check(warned: Path, capsys: Capture) -> None:
    check = ("check", "-C", str(warned), "--base", "base", "--no-tree")
    assert run_cli(capsys, *check).code == ExitCode.OK  # built-in default: error
    git(warned, "config", "reviewtool.failOn", "warning")
    assert run_cli(capsys, *check).code == ExitCode.FINDINGS  # git config beats the default
    assert run_cli(capsys, *check, "--fail-on", "error").code == ExitCode.OK  # option beats config


def test_format_precedence_in_check(warned: Path, capsys: Capture) -> None:
    check = ("check", "-C", str(warned), "--base", "base", "--no-tree")
    git(warned, "config", "reviewtool.format", "json")
    assert run_cli(capsys, *check).json()["findings"][0]["rule"] == "whitespace-trailing"
    assert run_cli(capsys, *check, "-f", "text").out.startswith("Series:")


def test_tree_precedence_in_check(warned: Path, capsys: Capture) -> None:
    check = ("check", "-C", str(warned), "--base", "base", "-f", "json")
    assert "tree" in run_cli(capsys, *check).json()  # default: on
    git(warned, "config", "reviewtool.tree", "false")
    assert "tree" not in run_cli(capsys, *check).json()
    assert "tree" in run_cli(capsys, *check, "--tree").json()


def test_rule_precedence_in_check(warned: Path, capsys: Capture) -> None:
    check = ("check", "-C", str(warned), "--base", "base")
    git(warned, "config", "reviewtool.rule", "no-such-rule")
    result = run_cli(capsys, *check)
    assert result.code == ExitCode.INPUT and "no-such-rule" in result.err
    assert run_cli(capsys, *check, "--rule", "pte-marker").code == ExitCode.OK


def test_audit_reads_git_config_where_it_runs(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """audit takes format, failOn and emailFrom from git config (the --tree repository, else
    the directory it runs in, else the global configuration); its options beat them."""
    from tests.conftest import FIXTURES

    demo = str(FIXTURES / "demo" / "demo.mbox")  # three warnings
    monkeypatch.chdir(tmp_path)
    git(tmp_path, "config", "--global", "reviewtool.failOn", "warning")
    assert run_cli(capsys, "audit", demo).code == ExitCode.FINDINGS
    assert run_cli(capsys, "audit", demo, "--fail-on", "error").code == ExitCode.OK
    git(tmp_path, "config", "--global", "reviewtool.format", "email")
    git(tmp_path, "config", "--global", "reviewtool.emailFrom", "Review Bot <bot@example.org>")
    reply = run_cli(capsys, "audit", demo, "--fail-on", "never")
    assert reply.out.startswith("From: Review Bot <bot@example.org>\n")
    plain = run_cli(capsys, "audit", demo, "-f", "json", "--email-from", "x@example.org")
    assert plain.json()["summary"]["warning"] == 3
    git(tmp_path, "config", "--global", "reviewtool.format", "html")
    bad = run_cli(capsys, "audit", demo)
    assert bad.code == ExitCode.INPUT and "reviewtool.format" in bad.err
