"""Property tests of `reviewtool check-patch`, the command b4 runs on every message it is given:
with --format b4-check the answer is always exit 0 and a JSON list b4 can show, and with
--format terse it is never an internal error, whatever the message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewtool.errors import ExitCode
from tests.fuzz.cli import check_outcome, cli_settings
from tests.fuzz.strategies import Generated, messages, mime_messages
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]


@pytest.fixture(scope="module")
def message_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file the examples overwrite (check-patch reads a file or stdin)."""
    return tmp_path_factory.mktemp("check-patch") / "message.eml"


def _b4_check(capsys: Capture, path: Path, raw: bytes) -> None:
    path.write_bytes(raw)
    result = run_cli(capsys, "check-patch", "--format", "b4-check", str(path))
    check_outcome(result, "check-patch")
    assert result.code == ExitCode.OK, result.err
    answer = json.loads(result.out)
    assert isinstance(answer, list) and answer
    for entry in answer:
        assert entry["tool"] == "reviewtool"
        assert entry["status"] in ("pass", "warn", "fail")
        assert isinstance(entry["summary"], str)
        if "details" in entry:
            assert isinstance(json.loads(entry["details"]), list)


@cli_settings
@given(messages())
def test_b4_check_answers_json_for_any_message(
    capsys: Capture, message_file: Path, raw: bytes
) -> None:
    _b4_check(capsys, message_file, raw)


@cli_settings
@given(mime_messages(min_depth=90, max_depth=110))
def test_b4_check_of_mime_nested_100_deep(
    capsys: Capture, message_file: Path, message: Generated
) -> None:
    _b4_check(capsys, message_file, message.raw)


@cli_settings
@given(messages(), st.booleans())
def test_terse_is_never_an_internal_error(
    capsys: Capture, message_file: Path, raw: bytes, showfile: bool
) -> None:
    message_file.write_bytes(raw)
    options = ["--showfile"] if showfile else []
    result = run_cli(capsys, "check-patch", *options, str(message_file))
    check_outcome(result, "check-patch")
