from __future__ import annotations

import sys

from reviewtool.cli import main
from reviewtool.errors import ExitCode

code = main()
if code == ExitCode.INTERRUPTED:
    # A KeyboardInterrupt raised inside exec() of a string (dataclasses and namedtuple build
    # their methods that way while a module loads) leaves CPython's "ended by Ctrl-C" mark
    # set even once caught, and `python -m` then ends by SIGINT instead of exit 130. Running
    # a string again clears the mark.
    exec("None")
sys.exit(code)
