"""The command line. Only this package prints or exits; heavy modules are imported lazily.

app.py holds the typer application and main(); options.py the option types the commands
share; common.py the helpers they share; one module per command or command group.
"""

from __future__ import annotations

import signal
import sys
import threading

from reviewtool.errors import ExitCode


def main(argv: list[str] | None = None) -> int:
    """The entry point: reviewtool.cli.app.main(), loaded here so that Ctrl-C while the
    command line's modules load, or before app.main() holds Ctrl-C itself, is told and
    exits 130 like Ctrl-C later."""
    try:
        from reviewtool.cli.app import main as run

        code = run(argv)
    except KeyboardInterrupt:
        sys.stderr.write("reviewtool: interrupted\n")
        code = ExitCode.INTERRUPTED
    if argv is None and threading.current_thread() is threading.main_thread():
        # The program's own run (not a call from Python code) is over, its temporary files
        # gone and its report written: a Ctrl-C while the interpreter shuts down ends the
        # process the Unix way, by SIGINT (shells say 130), not with a traceback from
        # whatever teardown code it lands in.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if code in (ExitCode.TIMEOUT, ExitCode.INTERRUPTED):
            # Objects the interruption cut short are freed as Python shuts down, and their
            # destructors may fail on what they never got (GitPython's config parser does):
            # that is an echo of the interruption already told, not news.
            sys.unraisablehook = _quiet
    return code


def _quiet(unraisable: object) -> None:
    """An unraisable-exception hook that shows nothing."""


__all__ = ["main"]
