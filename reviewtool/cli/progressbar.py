"""The progress bar on stderr: one line per task (patches applied k/N, tree states analysed,
build cells done and left), each with the step under way, and a status line for what happens
between steps. Shown only on a terminal, never with `-q`."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from reviewtool.progress import NOTHING, Progress

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


class TerminalProgress(Progress):
    """Progress drawn by rich; a task's line appears when the engine starts it."""

    def __init__(self, bars: RichProgress) -> None:
        self._bars = bars
        self._tasks: dict[str, TaskID] = {}
        self._status: TaskID | None = None
        self._lock = threading.Lock()

    def start(self, task: str, label: str, total: int) -> None:
        with self._lock:
            if task in self._tasks:
                known = self._bars.tasks[self._tasks[task]].total or 0
                self._bars.update(self._tasks[task], total=known + total)
            else:
                self._tasks[task] = self._bars.add_task(label, total=total, detail="")

    def advance(self, task: str, detail: str = "") -> None:
        with self._lock:
            if task not in self._tasks:
                self._tasks[task] = self._bars.add_task(task, total=None, detail="")
            self._bars.update(self._tasks[task], advance=1, detail=detail)

    def message(self, text: str) -> None:
        with self._lock:
            if self._status is None:
                self._status = self._bars.add_task("", total=None, detail=text)
            else:
                self._bars.update(self._status, detail=text)


@contextlib.contextmanager
def progress_bar(quiet: bool) -> Iterator[Progress]:
    """A TerminalProgress while the block runs, when stderr is a terminal and not quiet;
    else a Progress that shows nothing. The bar is removed when the block ends."""
    if quiet or not sys.stderr.isatty():
        yield NOTHING
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as RichProgress

    bars = RichProgress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        console=Console(stderr=True),
        transient=True,
    )
    with bars:
        yield TerminalProgress(bars)
