"""The typer application: its commands in the order --help lists them, the global options, and
main(), the one place that maps every outcome to an exit code."""

from __future__ import annotations

import _thread
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from typing import Annotated

import typer

from reviewtool import __version__, proc
from reviewtool.cli import audit, bot, build, check, common, hook, merge, rule
from reviewtool.cli.options import Group
from reviewtool.errors import DeadlineExceeded, ExitCode, ReviewtoolError

log = logging.getLogger(__name__)

app = typer.Typer(
    name="reviewtool",
    help="Review assistant for Linux kernel patch series.",
    add_completion=False,
    no_args_is_help=True,
    cls=Group,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(audit.audit)
app.command("build")(build.build_command)
app.command()(check.check)
app.command()(merge.merge)
app.command()(audit.rules)
app.command("check-patch")(check.check_patch)
app.add_typer(hook.hook_app, name="hook")
app.add_typer(bot.bot_app, name="bot")
app.add_typer(rule.rule_app, name="rule")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reviewtool {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, help="Log progress to stderr (-vv: debug)."),
    ] = 0,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="No progress bar on stderr (there is none when it is not a terminal).",
        ),
    ] = False,
) -> None:
    """Review assistant for Linux kernel patch series."""
    common.QUIET = quiet
    _log_to_stderr(logging.WARNING - 10 * min(verbose, 2))


class _Stderr(logging.Handler):
    """Writes to whatever sys.stderr is when a record comes (a caller may swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(common.one_line(self.format(record)) + "\n")
        except Exception:  # logging's contract: report, never raise
            self.handleError(record)


_HANDLER = _Stderr()
_HANDLER.setFormatter(logging.Formatter("reviewtool: %(message)s"))


def _log_to_stderr(level: int) -> None:
    """reviewtool's own log on stderr at level, set anew by every call of main(): not the
    root logger, which belongs to whatever program embeds main()."""
    logger = logging.getLogger("reviewtool")
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
        logger.propagate = False
    logger.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map every outcome to a documented exit code."""
    interrupted = threading.Event()
    previous = None
    previous_hook = sys.unraisablehook
    if threading.current_thread() is threading.main_thread():

        def on_interrupt(signum: int, frame: object) -> None:
            interrupted.set()  # typer turns the KeyboardInterrupt into a silent exit code
            raise KeyboardInterrupt

        def on_unraisable(unraisable: sys.UnraisableHookArgs) -> None:
            """Python prints "Exception ignored" for an exception raised in a destructor or
            a GC callback, and drops it."""
            error = unraisable.exc_value
            if isinstance(error, KeyboardInterrupt):
                # A Ctrl-C that landed there: send it to the main thread again, a moment
                # later from another thread, once the callback is over (a real signal, so
                # that a blocking call returns to take it).
                main = threading.main_thread().ident or 0
                _thread.start_new_thread(_signal_later, (main, int(signal.SIGINT)))
                return
            if isinstance(error, DeadlineExceeded) or interrupted.is_set() or proc.deadline_hit():
                # The alarm's expiry is raised again when the deadline's block ends, and a
                # destructor failing on an object the interruption cut short is its echo.
                log.debug("after the interruption: %r", error)
                return
            previous_hook(unraisable)

        def stop_now() -> None:
            interrupted.set()
            proc.stop_commands()

        proc.allow_commands()
        previous = signal.signal(signal.SIGINT, proc.deferrable(on_interrupt, now=stop_now))
        sys.unraisablehook = on_unraisable
        with proc.uninterrupted():
            # tempfile finds its directory by writing and removing a probe file: a Ctrl-C
            # or the --timeout alarm between the two would leave the probe behind
            tempfile.gettempdir()
    try:
        command = typer.main.get_command(app)
        result = command.main(
            args=argv if argv is not None else sys.argv[1:],
            prog_name="reviewtool",
            standalone_mode=False,
        )
    except typer.Exit as done:
        return done.exit_code
    except typer.TyperException as error:
        return _usage_error(error)
    except (KeyboardInterrupt, typer.Abort):
        return _interrupted()
    except ReviewtoolError as error:
        if interrupted.is_set():  # a command the Ctrl-C killed failed before it was raised
            return _interrupted()
        _error(error.message)
        if error.details() and log.isEnabledFor(logging.INFO):
            sys.stderr.write(error.details() + "\n")
        return error.exit_code
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as error:  # the one place that turns a bug into exit code 4
        if interrupted.is_set():
            # code the Ctrl-C interrupted wrapped it in its own error (Python wraps one in
            # a class's __set_name__ into a RuntimeError): it is the interruption
            return _interrupted()
        if os.environ.get("REVIEWTOOL_DEBUG"):
            raise
        _error(
            f"internal error: {type(error).__name__}: {error}"
            " (set REVIEWTOOL_DEBUG=1 for a traceback)"
        )
        return ExitCode.INTERNAL
    finally:
        # what an interrupted cleanup left behind (a second Ctrl-C waits for this)
        with proc.uninterrupted():
            proc.sweep()
        proc.allow_commands()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
            sys.unraisablehook = previous_hook
    if interrupted.is_set() or result == ExitCode.INTERRUPTED:
        # typer returns 130 for a KeyboardInterrupt, silently (one not from the handler
        # above: raised by code, or by Python's own handler before ours)
        return _interrupted()
    return int(result) if isinstance(result, int) else ExitCode.OK


def _signal_later(thread: int, signum: int) -> None:
    time.sleep(0.01)
    signal.pthread_kill(thread, signum)


def _interrupted() -> int:
    """Ctrl-C: one line, and the shell's code for it (temporary files are already gone)."""
    sys.stderr.write("reviewtool: interrupted\n")
    return ExitCode.INTERRUPTED


def _usage_error(error: typer.TyperException) -> int:
    """Typer's parse errors: a bare command prints its help, anything else one line."""
    context = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError":
        shown = error.format_message()  # typer's rich help has printed itself already
        if shown:
            sys.stderr.write(shown + "\n")
        return ExitCode.INPUT
    message = error.format_message()
    _error(message.splitlines()[0] if message else type(error).__name__)
    if context is not None:
        sys.stderr.write(f"Try '{context.command_path} --help' for help.\n")
    return ExitCode.INPUT


def _error(message: str) -> None:
    sys.stderr.write(f"reviewtool: error: {common.one_line(message)}\n")
