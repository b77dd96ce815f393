"""The option types the commands share: the choices of each enum, the bounds typer checks, and
--max-input-size, all through reviewtool.cli.main as a user types them."""

from __future__ import annotations

import pytest

from reviewtool.cli.options import (
    DEFAULT_MAX_INPUT_SIZE,
    CheckFormat,
    FailOn,
    OutputFormat,
    ReplyTo,
    Toolchain,
)
from reviewtool.errors import ExitCode
from reviewtool.findings import Severity
from reviewtool.render import FORMATTERS
from tests.conftest import FIXTURES
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]
DEMO = FIXTURES / "demo" / "demo.mbox"
DEMO_SIZE = 12228  # bytes


def test_fail_on_names_its_severity() -> None:
    assert [f.severity for f in FailOn] == [Severity.ERROR, Severity.WARNING, Severity.NOTE, None]


def test_every_output_format_has_a_renderer_and_every_renderer_a_format() -> None:
    assert {f.value for f in OutputFormat} == set(FORMATTERS)


def test_the_choices_are_the_documented_ones() -> None:
    assert [t.value for t in Toolchain] == ["auto", "gcc", "clang"]
    assert [r.value for r in ReplyTo] == ["cover", "patch"]
    assert [c.value for c in CheckFormat] == ["terse", "b4-check"]
    assert [f.value for f in FailOn] == ["error", "warning", "note", "never"]


@pytest.mark.parametrize(
    ("args", "option", "choices"),
    [
        (["audit", str(DEMO), "--fail-on", "bogus"], "--fail-on", "'error', 'warning'"),
        (["audit", str(DEMO), "--format", "yaml"], "--format", "'text', 'json'"),
        (["audit", str(DEMO), "--toolchain", "icc"], "--toolchain", "'auto', 'gcc', 'clang'"),
        (["audit", str(DEMO), "--reply-to", "all"], "--reply-to", "'cover', 'patch'"),
        (["check-patch", "-f", "json", str(DEMO)], "--format", "'terse', 'b4-check'"),
        (["merge", "x.json", "--fail-on", "fatal"], "--fail-on", "'note', 'never'"),
        (["rules", "--kind", "bogus"], "--kind", "'series', 'tree', 'contract', 'build'"),
    ],
)
def test_a_value_outside_the_choices_is_a_usage_error(
    args: list[str], option: str, choices: str, capsys: Capture
) -> None:
    result = run_cli(capsys, *args)
    assert result.code == ExitCode.INPUT and result.out == ""
    first = result.err.splitlines()[0]
    assert first.startswith(f"reviewtool: error: Invalid value for '{option}'")
    assert choices in first


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["audit", str(DEMO), "--jobs", "0"], "--jobs"),
        (["audit", str(DEMO), "--timeout", "0"], "--timeout"),
        (["audit", str(DEMO), "--revision", "0"], "--revision"),
        (["build", str(DEMO), "--tree", ".", "--jobs", "0"], "--jobs"),
        (["bot", "fetch", "a@b", "--inbox", "http://x/", "--timeout", "-1"], "--timeout"),
        (["bot", "reply", str(DEMO), "--dry-run", "--timeout", "0"], "--timeout"),
    ],
)
def test_numbers_below_their_bound_are_usage_errors(
    args: list[str], option: str, capsys: Capture
) -> None:
    result = run_cli(capsys, *args)
    assert result.code == ExitCode.INPUT and result.out == ""
    assert result.err.startswith(f"reviewtool: error: Invalid value for '{option}'")


def test_file_and_directory_options_refuse_the_other_kind(capsys: Capture) -> None:
    output = run_cli(capsys, "audit", str(DEMO), "-o", str(FIXTURES))
    assert output.code == ExitCode.INPUT
    assert f"file '{FIXTURES}' is a directory" in output.err
    for option in ("--work-dir", "--tree", "--cache-dir"):
        result = run_cli(capsys, "audit", str(DEMO), option, str(DEMO))
        assert result.code == ExitCode.INPUT, option
        assert f"Invalid value for '{option}': dir '{DEMO}' is a file" in result.err


# --- --max-input-size -------------------------------------------------------------------------


def test_the_default_size_limit_is_64_mebibytes(capsys: Capture) -> None:
    assert DEFAULT_MAX_INPUT_SIZE == "64M"
    assert DEMO.stat().st_size == DEMO_SIZE
    assert run_cli(capsys, "audit", str(DEMO)).code == ExitCode.OK


@pytest.mark.parametrize(
    ("size", "limit"),
    [
        ("12228", DEMO_SIZE),  # bytes: the file's own size is allowed
        ("12K", 12 * 1024),
        ("12k", 12 * 1024),
        (" 12K ", 12 * 1024),
        ("12KB", 12 * 1024),
        ("12KiB", 12 * 1024),
        ("0.5M", 512 * 1024),
        ("64M", 64 << 20),
        ("1G", 1 << 30),
    ],
)
def test_sizes_with_and_without_a_suffix_let_the_demo_through(
    size: str, limit: int, capsys: Capture
) -> None:
    assert limit >= DEMO_SIZE
    result = run_cli(capsys, "audit", str(DEMO), "--max-input-size", size)
    assert result.code == ExitCode.OK, result.err


@pytest.mark.parametrize(
    ("size", "limit"), [("12227", DEMO_SIZE - 1), ("11K", 11 * 1024), ("0.01M", 10485)]
)
def test_a_smaller_limit_refuses_the_demo_naming_both_sizes(
    size: str, limit: int, capsys: Capture
) -> None:
    result = run_cli(capsys, "audit", str(DEMO), "--max-input-size", size)
    assert result.code == ExitCode.INPUT and result.out == ""
    assert result.err == (
        f"reviewtool: error: {DEMO}: {DEMO_SIZE} bytes is over the input size limit "
        f"of {limit} bytes\n"
    )


@pytest.mark.parametrize(
    ("size", "problem"),
    [
        ("lots", "not a size (e.g. 64M)"),
        ("12X", "not a size (e.g. 64M)"),
        ("K", "not a size (e.g. 64M)"),
        ("nan", "not a size (e.g. 64M)"),
        ("0", "must be positive"),
        ("-1K", "must be positive"),
        ("0.0001", "must be positive"),
    ],
)
def test_a_size_that_is_not_one_is_a_one_line_usage_error(
    size: str, problem: str, capsys: Capture
) -> None:
    result = run_cli(capsys, "audit", str(DEMO), "--max-input-size", size)
    assert result.code == ExitCode.INPUT and result.out == ""
    assert result.err == f"reviewtool: error: --max-input-size {size}: {problem}\n"


@pytest.mark.parametrize("size", ["", "B", "inf", "1e400", "-inf", "nanK"])
def test_a_size_that_cannot_be_a_number_is_a_usage_error(size: str, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(DEMO), "--max-input-size", size)
    assert result.code == ExitCode.INPUT, result.err
    assert result.err.startswith(f"reviewtool: error: --max-input-size {size}: ")


@pytest.mark.parametrize(
    "command",
    [["audit"], ["build", "--tree", "."], ["check-patch"]],
)
def test_every_command_reading_a_series_checks_its_size(
    command: list[str], capsys: Capture
) -> None:
    result = run_cli(capsys, *command, str(DEMO), "--max-input-size", "1K")
    assert result.code == ExitCode.INPUT
    assert "is over the input size limit of 1024 bytes" in result.err
