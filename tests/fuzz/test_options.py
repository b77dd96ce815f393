"""Property tests of option and configuration values: any --timeout, --max-input-size,
--format, --fail-on or --revision given to `reviewtool audit` on the demo series ends in a
documented exit code (an input error as one line on stderr), and any `git config reviewtool.*`
value is a setting or an InputError."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewtool import config
from reviewtool.cli.common import parse_size
from reviewtool.errors import InputError
from tests.conftest import FIXTURES
from tests.fuzz.cli import check_outcome, cli_settings
from tests.fuzz.strategies import hostile_text
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]
DEMO = str(FIXTURES / "demo" / "demo.mbox")


def _texts(*special: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(special), hostile_text(20))


_ODD_NUMBERS = ("inf", "-inf", "nan", "1e309", "-0", "0", "1e-9", "", "abc", "1_0", "0x10",
                " 5 ", "5s", "1e7", "10000000.5", "٣")  # fmt: skip


def _numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.floats().map(repr),
        st.floats(min_value=0.001, max_value=0.3).map(str),  # deadlines that expire mid-run
        st.integers(-(10**30), 10**30).map(str),
        st.sampled_from(_ODD_NUMBERS),
        hostile_text(12),
    )


@cli_settings
@given(_numbers())
def test_timeout(capsys: Capture, value: str) -> None:
    check_outcome(run_cli(capsys, "audit", DEMO, "--timeout", value))


@cli_settings
@given(
    st.one_of(
        _texts("", "1e400", "inf", "-1", "0", "12X", "1K", "1KiB", "64M", "0.5", "nan", "B"),
        st.integers(0, 10**400).map(str),
    )
)
def test_max_input_size(capsys: Capture, value: str) -> None:
    check_outcome(run_cli(capsys, "audit", DEMO, "--max-input-size", value))


@cli_settings
@given(
    _texts("text", "json", "markdown", "sarif", "codequality", "email", "JSON", "", "-", "--help")
)
def test_format(capsys: Capture, value: str) -> None:
    check_outcome(run_cli(capsys, "audit", DEMO, "--format", value))


@cli_settings
@given(_texts("error", "warning", "note", "never", "ERROR", "", "-1"))
def test_fail_on(capsys: Capture, value: str) -> None:
    check_outcome(run_cli(capsys, "audit", DEMO, "--fail-on", value))


@cli_settings
@given(st.one_of(st.integers(-5, 5), st.integers(-(10**40), 10**40)).map(str) | _texts("", "v2"))
def test_revision(capsys: Capture, value: str) -> None:
    check_outcome(run_cli(capsys, "audit", DEMO, "--revision", value))


@given(st.one_of(hostile_text(20), st.integers(-(10**50), 10**50).map(str), _numbers()))
def test_parse_size(text: str) -> None:
    try:
        size = parse_size(text)
    except InputError as error:
        assert error.message.startswith(f"--max-input-size {text}: ")
        return
    assert isinstance(size, int) and size > 0


# -- git config reviewtool.* -----------------------------------------------------------------


_ODD_VALUES = ("", "true", "No", "error", "json", "gcc", "x86,arm64", ",", "~", "~/c", "a@b",
               "~reviewtool-no-such-user/c", "~a\0b",
               "never ", " ON", "1", "2")  # fmt: skip
_VALUES = st.one_of(st.sampled_from(_ODD_VALUES), hostile_text(20))
_RECORDS = st.lists(
    st.tuples(
        st.sampled_from([*config.KEYS.values(), "reviewtool.FAILON", "reviewtool.unknown"]),
        st.one_of(st.none(), _VALUES),  # None: a key without `=` (boolean true)
    ),
    max_size=6,
)


def _output(records: list[tuple[str, str | None]]) -> bytes:
    """`git config -z --get-regexp` output for these records."""
    parts = [key if value is None else f"{key}\n{value}" for key, value in records]
    return "".join(f"{part}\0" for part in parts).encode("utf-8", "surrogateescape")


def _check_settings(output: bytes) -> None:
    try:
        settings = config.parse(output)
    except InputError as error:
        assert error.message.startswith("git config "), error.message
        assert "\n" not in error.message
        return
    assert isinstance(settings, config.Settings)


@given(st.binary(max_size=300))
def test_any_git_config_output(output: bytes) -> None:
    _check_settings(output)


@given(_RECORDS)
def test_any_reviewtool_setting(records: list[tuple[str, str | None]]) -> None:
    _check_settings(_output(records))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("repo")
    subprocess.run(["git", "init", "-q", str(where)], check=True)
    return where


@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(config.KEYS.values())),
            _VALUES.filter(lambda v: "\0" not in v),
        ),
        max_size=4,
    )
)
def test_settings_through_git_config(repo: Path, records: list[tuple[str, str]]) -> None:
    """Values as `git config` stores and returns them (quoting, escapes, line breaks)."""
    git = ["git", "-C", str(repo), "config"]
    subprocess.run([*git, "--remove-section", "reviewtool"], capture_output=True, check=False)
    for key, value in records:
        subprocess.run([*git, "--add", key, value], capture_output=True, check=True)
    try:
        settings = config.load(repo)
    except InputError as error:
        assert error.message.startswith("git config"), error.message
        return
    assert isinstance(settings, config.Settings)


@pytest.mark.parametrize("line", [b"[reviewtool\n", b"\xff\xfe", b'[reviewtool]\nformat = "x\n'])
def test_a_broken_git_config_file(repo: Path, line: bytes) -> None:
    config_file = repo / ".git" / "config"
    saved = config_file.read_bytes()
    try:
        config_file.write_bytes(saved + line)
        with pytest.raises(InputError) as raised:
            config.load(repo)
        assert raised.value.message.startswith("git config: ")
        assert "\n" not in raised.value.message
    finally:
        config_file.write_bytes(saved)
