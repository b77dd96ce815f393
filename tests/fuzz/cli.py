"""What every CLI-level property checks, and the settings CLI properties run with."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from reviewtool.errors import ExitCode
from tests.fuzz.strategies import RAW_CONTROLS
from tests.helpers import CliResult

# capsys is function-scoped, and shared by the examples of a test: harmless, since
# run_cli() drains it after every call.
_PROFILE = settings()  # the profile conftest.py loaded
cli_settings = settings(
    suppress_health_check=[*_PROFILE.suppress_health_check, HealthCheck.function_scoped_fixture]
)

DOCUMENTED = {code.value for code in ExitCode} - {ExitCode.INTERNAL}


def check_outcome(result: CliResult, command: str = "audit") -> None:
    """A documented exit code other than 4; no traceback and no raw terminal controls on
    stderr; an input error is one line (and typer's hint) on stderr and nothing on stdout."""
    assert result.code != ExitCode.INTERNAL, result.err
    assert result.code in DOCUMENTED, (result.code, result.err)
    assert "Traceback" not in result.err
    for control in RAW_CONTROLS:
        assert control not in result.err, result.err
    if result.code == ExitCode.INPUT:
        assert result.out == ""
        lines = result.err.split("\n")[:-1]  # a terminal's lines (U+2028 is not a break there)
        assert result.err.endswith("\n") and len(lines) in (1, 2), result.err
        assert lines[0].startswith("reviewtool: error: "), result.err
        if len(lines) == 2:
            assert lines[1] == f"Try 'reviewtool {command} --help' for help.", result.err
