"""The progress bar: one line per task with k/N and the step under way, on a terminal only."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.progress import TextColumn

from reviewtool.cli.progressbar import TerminalProgress, progress_bar
from reviewtool.progress import APPLY, BUILD, NOTHING
from tests.conftest import FIXTURES


def test_each_task_is_a_line_with_its_count_and_current_step() -> None:
    out = io.StringIO()
    bars = RichProgress(
        TextColumn("{task.description} {task.completed}/{task.total} {task.fields[detail]}"),
        console=Console(file=out, force_terminal=True, width=100),
        auto_refresh=False,
    )
    with bars:
        progress = TerminalProgress(bars)
        progress.start(APPLY, "patches applied", 30)
        for number in range(1, 22):
            progress.advance(APPLY, f"patch {number}: ok")
        progress.start(BUILD, "build cells", 4)
        progress.start(BUILD, "build cells", 4)  # a second start adds to the total
        progress.advance(BUILD, "patch 0 on arm64")
        progress.message("building patch 1 on 2 architectures")
        bars.refresh()
    text = out.getvalue()
    assert "patches applied 21/30 patch 21: ok" in text
    assert "build cells 1/8 patch 0 on arm64" in text
    assert "building patch 1 on 2 architectures" in text


def test_nothing_when_quiet_or_not_a_terminal(capsys: object) -> None:
    with progress_bar(quiet=True) as progress:
        assert progress is NOTHING
    with progress_bar(quiet=False) as progress:  # pytest's stderr is not a terminal
        assert progress is NOTHING


def _stderr_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run reviewtool with stderr on a pseudo-terminal; stdout goes to a pipe."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "reviewtool", *args],
            stdout=subprocess.PIPE,
            stderr=follower,
            cwd=cwd,
            env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closes when the process ends
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.communicate(timeout=120)
    finally:
        os.close(leader)
    return process.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_a_tree_audit_on_a_terminal_shows_the_bar_and_q_hides_it(tmp_path: Path) -> None:
    tree = tmp_path / "linux"
    subprocess.run(
        ["git", "clone", "-q", str(FIXTURES / "tree" / "demo-tree.bundle"), str(tree)], check=True
    )
    args = ["audit", str(FIXTURES / "demo" / "demo.mbox"), "--tree", str(tree), "-o",
            str(tmp_path / "report.txt"), "--fail-on", "never"]  # fmt: skip
    code, shown = _stderr_on_a_terminal(args, tmp_path)
    assert code == 0
    assert "patches applied" in shown and "3/3" in shown
    assert "tree states analysed" in shown
    code, shown = _stderr_on_a_terminal(["-q", *args], tmp_path)
    assert code == 0
    assert shown == ""
