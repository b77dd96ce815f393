"""The error hierarchy: each error carries a one-line message, optional details and its exit
code, and the exit codes are the ones README's "Exit codes" table documents."""

from __future__ import annotations

import inspect
import re

import pytest

from reviewtool import errors
from reviewtool.errors import (
    ApplyError,
    DeadlineExceeded,
    ExitCode,
    InputError,
    MessageError,
    ReviewtoolError,
    ToolchainError,
)
from tests.conftest import ROOT

# Each error class and the exit code it documents (STYLE.md: one table of exit codes).
EXPECTED = {
    ReviewtoolError: ExitCode.INTERNAL,
    InputError: ExitCode.INPUT,
    MessageError: ExitCode.INPUT,
    ApplyError: ExitCode.INPUT,
    ToolchainError: ExitCode.ENVIRONMENT,
    DeadlineExceeded: ExitCode.TIMEOUT,
}

# What README's meaning column says for each code.
MEANINGS = {
    ExitCode.OK: "no finding at or above `--fail-on`",
    ExitCode.FINDINGS: "findings at or above `--fail-on`",
    ExitCode.INPUT: "usage or input error",
    ExitCode.ENVIRONMENT: "environment error",
    ExitCode.INTERNAL: "internal error",
    ExitCode.TIMEOUT: "`--timeout` expired",
    ExitCode.INTERRUPTED: "interrupted",
}


def _readme_exit_codes() -> dict[int, str]:
    """The rows of README's "## Exit codes" table: code -> meaning."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section, flags=re.MULTILINE)
    assert rows, "no table under ## Exit codes"
    return {int(code): meaning for code, meaning in rows}


def test_every_exit_code_is_in_the_readme_table_and_nothing_else() -> None:
    documented = _readme_exit_codes()
    assert sorted(documented) == sorted(code.value for code in ExitCode)
    assert [code.value for code in ExitCode] == [0, 1, 2, 3, 4, 124, 130]


@pytest.mark.parametrize("code", list(ExitCode), ids=lambda code: code.name)
def test_the_readme_says_what_each_code_means(code: ExitCode) -> None:
    assert MEANINGS[code] in _readme_exit_codes()[code.value]


def test_every_error_class_of_the_module_is_checked_here() -> None:
    classes = {
        value
        for _, value in inspect.getmembers(errors, inspect.isclass)
        if issubclass(value, ReviewtoolError) and value.__module__ == errors.__name__
    }
    assert classes == set(EXPECTED)


@pytest.mark.parametrize(
    ("kind", "code"), list(EXPECTED.items()), ids=lambda value: getattr(value, "__name__", "")
)
def test_each_error_carries_its_documented_exit_code(
    kind: type[ReviewtoolError], code: ExitCode
) -> None:
    error = kind("where", "what") if kind is MessageError else kind("what went wrong")
    assert error.exit_code is code
    assert kind.exit_code is code
    assert code.value in _readme_exit_codes()
    assert isinstance(error, ReviewtoolError) and isinstance(error, Exception)


def test_input_errors_are_one_family() -> None:
    assert issubclass(MessageError, InputError) and issubclass(ApplyError, InputError)
    assert not issubclass(ToolchainError, InputError)
    assert not issubclass(DeadlineExceeded, (InputError, ToolchainError))


def test_message_and_details() -> None:
    plain = ToolchainError("no cross compiler for s390")
    assert plain.message == str(plain) == "no cross compiler for s390"
    assert plain.details() == ""
    explained = ToolchainError("make failed", details="  make: *** [Makefile:1] Error 2")
    assert explained.message == "make failed"
    assert explained.details() == "  make: *** [Makefile:1] Error 2"


def test_a_message_error_names_the_message_then_the_problem() -> None:
    error = MessageError(
        'series.mbox#3: message 3 <id@host> "[PATCH 2/3] mm: x"', "corrupt diff", details="d"
    )
    assert error.where == 'series.mbox#3: message 3 <id@host> "[PATCH 2/3] mm: x"'
    assert error.problem == "corrupt diff"
    assert error.message == str(error) == f"{error.where}: corrupt diff"
    assert error.details() == "d"


def test_an_error_can_be_raised_and_caught_as_its_family() -> None:
    with pytest.raises(InputError) as caught:
        raise ApplyError("patch 2 does not apply")
    assert caught.value.exit_code == 2
    with pytest.raises(ReviewtoolError) as timed_out:
        raise DeadlineExceeded("timed out after 2 s (--timeout)")
    assert timed_out.value.exit_code == 124
