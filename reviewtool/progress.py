"""What long work reports as it goes: patches applied, tree states analysed, build cells done.

The engine reports to a `Progress`; the base class keeps nothing and shows nothing, so that
the engine never asks whether anyone is watching. The CLI passes a bar on a terminal
(`reviewtool.cli.common`), the benchmarks a recorder. Calls may come from any thread (the
series is applied in one of its own, builds run in a pool).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

APPLY = "apply"  # patches applied to the tree, k of N
ANALYSE = "analyse"  # tree states analysed (the base and each patch, per rule)
BUILD = "build"  # build cells (a state on an architecture)


class Progress:
    """Reports nothing. Subclasses show or record the calls."""

    def start(self, task: str, label: str, total: int) -> None:
        """A task of `total` steps begins (starting it again adds to its total)."""

    def advance(self, task: str, detail: str = "") -> None:
        """One more step of task is done; detail names the one now under way."""

    def message(self, text: str) -> None:
        """What is being done, between steps."""


NOTHING = Progress()


@dataclass
class Recorded:
    """One task as a Recorder saw it."""

    label: str
    total: int = 0
    done: int = 0
    details: list[str] = field(default_factory=list)


class Recorder(Progress):
    """Keeps every call: for the benchmarks' timings and for tests."""

    def __init__(self) -> None:
        self.tasks: dict[str, Recorded] = {}
        self.messages: list[str] = []
        self._lock = threading.Lock()

    def start(self, task: str, label: str, total: int) -> None:
        with self._lock:
            recorded = self.tasks.setdefault(task, Recorded(label))
            recorded.total += total

    def advance(self, task: str, detail: str = "") -> None:
        with self._lock:
            recorded = self.tasks.setdefault(task, Recorded(task))
            recorded.done += 1
            recorded.details.append(detail)

    def message(self, text: str) -> None:
        with self._lock:
            self.messages.append(text)
