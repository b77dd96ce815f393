"""The command line. Only this package prints or exits; heavy modules are imported lazily.

app.py holds the typer application and main(); options.py the option types the commands
share; common.py the helpers they share; one module per command or command group.
"""

from __future__ import annotations

from reviewtool.cli.app import main

__all__ = ["main"]
