"""The typer application and main(): root options (--version, -v, -q), usage errors, and the
one mapping of every outcome to an exit code."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewtool import cli
from reviewtool.errors import (
    ApplyError,
    DeadlineExceeded,
    ExitCode,
    InputError,
    MessageError,
    ReviewtoolError,
    ToolchainError,
)
from reviewtool.progress import NOTHING, Progress
from tests.builders import AUTHOR
from tests.conftest import FIXTURES, ROOT
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]
DEMO = FIXTURES / "demo" / "demo.mbox"


def test_help_and_version(capsys: Capture) -> None:
    result = run_cli(capsys, "--help")
    assert result.code == 0 and "audit" in result.out
    assert run_cli(capsys, "audit", "--help").code == 0
    version = run_cli(capsys, "--version")
    assert version.code == 0 and version.out.startswith("reviewtool ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"\x00\x01\x02binary\xff" * 100, "binary data"),
        (b"hello\nworld\n", "no mail headers"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path, data: bytes, message: str, capsys: Capture
) -> None:
    path = tmp_path / "bad.mbox"
    path.write_bytes(data)
    result = run_cli(capsys, "audit", str(path))
    assert result.code == ExitCode.INPUT
    assert result.err.startswith(f"reviewtool: error: {path}: ")
    assert message in result.err and result.err.count("\n") == 1
    assert result.out == ""


def test_usage_errors_exit_2(clean: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(clean), "--format", "yaml")
    assert result.code == ExitCode.INPUT
    assert result.err.startswith("reviewtool: error: ")
    assert run_cli(capsys, "audit").code == ExitCode.INPUT
    assert run_cli(capsys, "frobnicate").code == ExitCode.INPUT
    missing_revision = run_cli(capsys, "audit", str(clean), "--revision", "4")
    assert missing_revision.code == ExitCode.INPUT
    assert "revision v4 is not in the input (it holds v1)" in missing_revision.err


def test_internal_error_and_interrupt_are_mapped(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reviewtool.review

    def boom(*_: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(reviewtool.review, "run", boom)
    result = run_cli(capsys, "audit", str(clean))
    assert result.code == ExitCode.INTERNAL
    assert result.err == (
        "reviewtool: error: internal error: ZeroDivisionError: oops"
        " (set REVIEWTOOL_DEBUG=1 for a traceback)\n"
    )

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(reviewtool.review, "run", interrupt)
    assert run_cli(capsys, "audit", str(clean)).code == ExitCode.INTERRUPTED


def test_console_script_never_prints_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mbox"
    bad.write_bytes(
        b"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: a@b\nSubject: [PATCH] x\n"
        b'Content-Type: multipart/mixed; boundary="q"\n\nno parts\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "reviewtool", "audit", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().endswith("broken MIME: multipart boundary never appears in the body")
    assert proc.stderr.count("\n") == 1


def test_main_uses_sys_argv(monkeypatch: pytest.MonkeyPatch, clean: Path, capsys: Capture) -> None:
    """main() without argv is the program's own run: it reads sys.argv, and once done leaves
    Ctrl-C to the system (a Ctrl-C during interpreter teardown ends the process by SIGINT)."""
    import signal

    monkeypatch.setattr(sys, "argv", ["reviewtool", "audit", str(clean)])
    before = signal.getsignal(signal.SIGINT)
    try:
        assert cli.main() == 0
        assert signal.getsignal(signal.SIGINT) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, before)
    capsys.readouterr()
    assert AUTHOR


# --- the rest of the root command and of main()'s mapping -----------------------------------


def test_short_help_prints_usage_on_stdout(capsys: Capture) -> None:
    result = run_cli(capsys, "-h")
    assert result.code == ExitCode.OK and result.err == ""
    assert "Usage: reviewtool [OPTIONS] COMMAND" in result.out
    for command in ("audit", "build", "check", "merge", "rules", "check-patch", "hook", "bot"):
        assert command in result.out


@pytest.mark.parametrize(
    ("group", "commands"),
    [
        ([], ["audit", "hook", "bot"]),
        (["hook"], ["install", "uninstall", "run"]),
        (["bot"], ["fetch", "reply"]),
    ],
)
def test_a_bare_command_group_prints_its_help_and_exits_2(
    group: list[str], commands: list[str], capsys: Capture
) -> None:
    result = run_cli(capsys, *group)
    assert result.code == ExitCode.INPUT
    shown = result.out + result.err
    assert f"Usage: reviewtool {' '.join(group)}".rstrip() + " [OPTIONS] COMMAND" in shown
    assert all(command in shown for command in commands)
    assert "reviewtool: error" not in shown


@pytest.mark.parametrize("group", [(), ("bot",), ("hook",), ("rule",)])
def test_a_bare_command_prints_its_help_on_stderr_not_stdout(
    capsys: Capture, group: tuple[str, ...]
) -> None:
    """click builds the help while raising NoArgsIsHelpError, and typer's rich help prints
    itself as it is built: the help of a bare group (exit 2) must not land on stdout."""
    result = run_cli(capsys, *group)
    assert result.code == ExitCode.INPUT
    assert result.out == ""
    assert f"Usage: reviewtool {' '.join(group)}".rstrip() + " [OPTIONS] COMMAND" in result.err


def test_a_usage_error_names_the_help_of_its_command(clean: Path, capsys: Capture) -> None:
    result = run_cli(capsys, "audit", str(clean), "--no-such-option")
    assert result.code == ExitCode.INPUT and result.out == ""
    first, second = result.err.splitlines()
    assert first == "reviewtool: error: No such option: --no-such-option"
    assert second == "Try 'reviewtool audit --help' for help."


@pytest.mark.parametrize(
    "error",
    [
        InputError("bad input"),
        MessageError("series.mbox#2", "corrupt diff"),
        ApplyError("patch 2 does not apply"),
        ToolchainError("no cross compiler"),
        DeadlineExceeded("timed out after 2 s (--timeout)"),
        ReviewtoolError("an error without a kind"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_each_error_is_one_line_with_its_exit_code(
    error: ReviewtoolError, clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reviewtool.review

    def fail(*_: object) -> None:
        raise error

    monkeypatch.setattr(reviewtool.review, "run", fail)
    result = run_cli(capsys, "audit", str(clean))
    assert result.code == error.exit_code
    assert result.err == f"reviewtool: error: {error.message}\n"
    assert result.out == ""


def test_error_details_are_left_out_without_verbose(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reviewtool.review

    def fail(*_: object) -> None:
        raise ToolchainError("make failed", details="  make: *** [Makefile:1] Error 2")

    monkeypatch.setattr(reviewtool.review, "run", fail)
    result = run_cli(capsys, "audit", str(clean))
    assert (result.code, result.err) == (ExitCode.ENVIRONMENT, "reviewtool: error: make failed\n")


@contextlib.contextmanager
def _root_logger_with_a_handler() -> Iterator[None]:
    """The root logger as a program that set up logging leaves it: a handler, level WARNING."""
    root = logging.getLogger()
    handler = logging.NullHandler()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_verbose_shows_the_details_of_an_error_in_process(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reviewtool.review

    def fail(*_: object) -> None:
        raise ToolchainError("make failed", details="  make: *** [Makefile:1] Error 2")

    monkeypatch.setattr(reviewtool.review, "run", fail)
    with _root_logger_with_a_handler():
        verbose = run_cli(capsys, "-v", "audit", str(clean))
        quiet = run_cli(capsys, "audit", str(clean))
    assert verbose.err == "reviewtool: error: make failed\n  make: *** [Makefile:1] Error 2\n"
    assert quiet.err == "reviewtool: error: make failed\n"


def test_verbose_logs_progress_to_stderr_and_leaves_stdout_to_the_report() -> None:
    command = [sys.executable, "-m", "reviewtool", "-v", "audit", str(DEMO), "-f", "json"]
    verbose = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    assert verbose.returncode == ExitCode.OK
    assert verbose.stderr.splitlines() == [
        "reviewtool: read 4 messages",
        "reviewtool: series v2: 3 of 3 patches",
        "reviewtool: series checks: 3 findings",
    ]
    assert verbose.stdout.startswith("{")
    command.remove("-v")
    silent = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    assert (silent.returncode, silent.stderr, silent.stdout) == (0, "", verbose.stdout)


def test_debug_environment_lets_the_traceback_through(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reviewtool.review

    def boom(*_: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(reviewtool.review, "run", boom)
    monkeypatch.setenv("REVIEWTOOL_DEBUG", "1")
    with pytest.raises(ZeroDivisionError, match="oops"):
        cli.main(["audit", str(clean)])


def test_ctrl_c_prints_one_line_and_exits_130(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SIGINT in the middle of a run: typer would turn the KeyboardInterrupt into a
    silent exit code 130; the user is told, in one line."""
    import os
    import signal

    import reviewtool.review

    def interrupted(*_: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("the signal did not interrupt the run")

    monkeypatch.setattr(reviewtool.review, "run", interrupted)
    before = signal.getsignal(signal.SIGINT)
    result = run_cli(capsys, "audit", str(clean))
    assert (result.code, result.err, result.out) == (130, "reviewtool: interrupted\n", "")
    assert signal.getsignal(signal.SIGINT) is before  # main() puts the handler back


def test_ctrl_c_in_a_destructor_is_not_lost(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python prints "Exception ignored" for a KeyboardInterrupt raised in a destructor and
    drops it; main() delivers it again, so the run still stops, with its one line."""
    import os
    import signal
    import time

    import reviewtool.review

    class Doomed:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10_000):  # the handler runs here, inside the destructor
                pass

    def interrupted(*_: object) -> None:
        Doomed()
        end = time.monotonic() + 5
        while time.monotonic() < end:  # ordinary code: where the Ctrl-C is delivered again
            pass
        raise AssertionError("the Ctrl-C was lost in the destructor")

    monkeypatch.setattr(reviewtool.review, "run", interrupted)
    ignored: list[object] = []  # what would print "Exception ignored"
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    result = run_cli(capsys, "audit", str(clean))
    assert (result.code, result.err, result.out) == (130, "reviewtool: interrupted\n", "")
    assert ignored == []
    assert sys.unraisablehook == ignored.append  # main() puts the hook back


def test_a_ctrl_c_wrapped_in_another_error_is_an_interrupt(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by benchmarks/fuzz.py: a Ctrl-C while a module defined a dataclass came back as
    "RuntimeError: Error calling __set_name__" (exit 4)."""
    import os
    import signal

    import reviewtool.review

    class Field:
        def __set_name__(self, owner: type, name: str) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10_000):  # the handler runs here
                pass

    def interrupted(*_: object) -> None:
        type("Flow", (), {"values": Field()})
        raise AssertionError("not reached")

    monkeypatch.setattr(reviewtool.review, "run", interrupted)
    result = run_cli(capsys, "audit", str(clean))
    assert (result.code, result.err, result.out) == (130, "reviewtool: interrupted\n", "")


def test_a_ctrl_c_while_tempfile_probes_leaves_no_probe(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Found by benchmarks/fuzz.py: tempfile finds its directory by writing and removing a
    probe file, and a Ctrl-C in between left the probe in the temporary directory."""
    import os
    import signal
    import tempfile

    probes = tmp_path / "tmp"
    probes.mkdir()
    monkeypatch.setenv("TMPDIR", str(probes))
    monkeypatch.setattr(tempfile, "tempdir", None)
    write = os.write

    def write_then_ctrl_c(fd: int, data: bytes) -> int:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000):  # the handler runs here, between the probe's write and unlink
            pass
        return write(fd, data)

    monkeypatch.setattr(os, "write", write_then_ctrl_c)
    result = run_cli(capsys, "--version")
    monkeypatch.setattr(os, "write", write)
    assert (result.code, result.err) == (130, "reviewtool: interrupted\n")
    assert list(probes.iterdir()) == []


def test_an_expiry_in_a_destructor_is_one_line(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The --timeout alarm going off inside a destructor, and a destructor failing on what
    the expiry cut short: no "Exception ignored" traceback, exit 124 with its one line."""
    import time

    import reviewtool.review

    class Doomed:
        def __del__(self) -> None:
            end = time.monotonic() + 1
            while time.monotonic() < end:  # the alarm goes off in here
                pass

    class HalfMade:
        def __del__(self) -> None:
            raise AttributeError("'HalfMade' object has no attribute '_read_only'")

    def slow(*_: object) -> None:
        Doomed()
        HalfMade()
        raise RuntimeError("went on after the alarm")

    monkeypatch.setattr(reviewtool.review, "run", slow)
    ignored: list[object] = []  # what would print "Exception ignored"
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    result = run_cli(capsys, "audit", str(clean), "--timeout", "0.2")
    assert (result.code, result.out) == (124, "")
    assert result.err == "reviewtool: error: timed out after 0.2 s (--timeout)\n"
    assert ignored == []


def test_destructors_failing_at_shutdown_after_ctrl_c_are_quiet(clean: Path) -> None:
    """An object the interruption cut short, freed as Python shuts down after main() has
    returned, whose destructor fails (GitPython's half-made config parser does)."""
    script = (
        "import sys\n"
        "import reviewtool.review\n"
        "class HalfMade:\n"
        "    def __del__(self):\n"
        "        raise AttributeError('no attribute _read_only')\n"
        "kept = []\n"
        "def run(*_):\n"
        "    kept.append(HalfMade())\n"
        "    raise KeyboardInterrupt\n"
        "reviewtool.review.run = run\n"
        "from reviewtool.cli import main\n"
        f"sys.argv = ['reviewtool', 'audit', {str(clean)!r}]\n"
        "sys.exit(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stderr) == (130, "reviewtool: interrupted\n")


def test_python_m_exits_130_after_ctrl_c_inside_exec_of_a_string(tmp_path: Path) -> None:
    """CPython marks a KeyboardInterrupt raised inside exec() of a string (dataclasses build
    their methods so while a module loads) as unhandled even once caught, and `python -m`
    then ends by SIGINT (-2) instead of the exit code: reviewtool/__main__.py clears it."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "__init__.py").write_text("")
    (shim / "__main__.py").write_text(
        "import runpy\n"
        "import reviewtool.cli.app as app\n"
        "def interrupted(argv=None):\n"
        "    try:\n"
        "        exec('raise KeyboardInterrupt')\n"
        "    except KeyboardInterrupt:\n"
        "        return app._interrupted()\n"
        "app.main = interrupted\n"
        "runpy.run_module('reviewtool', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "shim"],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (130, "reviewtool: interrupted\n")


def test_abort_is_an_interrupt_and_a_broken_pipe_is_quiet(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    import reviewtool.review

    def abort(*_: object) -> None:
        raise typer.Abort

    monkeypatch.setattr(reviewtool.review, "run", abort)
    result = run_cli(capsys, "audit", str(clean))
    assert (result.code, result.err) == (ExitCode.INTERRUPTED, "reviewtool: interrupted\n")

    def closed(*_: object) -> None:
        raise BrokenPipeError

    monkeypatch.setattr(reviewtool.review, "run", closed)
    result = run_cli(capsys, "audit", str(clean))  # `reviewtool audit ... | head -1`
    assert (result.code, result.out, result.err) == (ExitCode.OK, "", "")


def test_quiet_turns_the_progress_bar_off_for_that_run_only(
    clean: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reviewtool.cli.progressbar
    from reviewtool.cli import common

    monkeypatch.setattr(common, "QUIET", common.QUIET)  # restored after the test
    asked: list[bool] = []

    @contextlib.contextmanager
    def progress_bar(quiet: bool) -> Iterator[Progress]:
        asked.append(quiet)
        yield NOTHING

    monkeypatch.setattr(reviewtool.cli.progressbar, "progress_bar", progress_bar)
    assert run_cli(capsys, "-q", "audit", str(clean)).code == ExitCode.OK
    assert run_cli(capsys, "audit", str(clean)).code == ExitCode.OK
    assert run_cli(capsys, "--quiet", "audit", str(clean)).code == ExitCode.OK
    assert asked == [True, False, True]
