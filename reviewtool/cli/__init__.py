"""The command line. Only this package prints or exits; heavy modules are imported lazily.

app.py holds the typer application and main(); options.py the option types the commands
share; common.py the helpers they share; one module per command or command group.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """The entry point: reviewtool.cli.app.main(), loaded here so that Ctrl-C while the
    command line's modules load, or before app.main() holds Ctrl-C itself, is told and
    exits 130 like Ctrl-C later."""
    try:
        from reviewtool.cli.app import main as run

        return run(argv)
    except KeyboardInterrupt:
        sys.stderr.write("reviewtool: interrupted\n")
        return 130


__all__ = ["main"]
