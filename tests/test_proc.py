"""The subprocess helper: timeouts, the run-wide deadline, and killing what runs."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reviewtool import proc
from reviewtool.errors import DeadlineExceeded, ExitCode, ToolchainError


def test_a_command_timeout_is_a_toolchain_error() -> None:
    with pytest.raises(ToolchainError, match=r"timed out after 0\.2 s: sleep 5"):
        proc.run(["sleep", "5"], timeout=0.2)


def test_the_deadline_bounds_commands_in_every_thread() -> None:
    start = time.monotonic()
    with proc.deadline(0.5), ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(proc.run, ["sleep", "30"], timeout=60) for _ in range(3)]
        errors = [future.exception() for future in futures]
    assert time.monotonic() - start < 5
    assert all(isinstance(error, DeadlineExceeded) for error in errors)
    assert DeadlineExceeded("x").exit_code == int(ExitCode.TIMEOUT) == 124


def test_after_the_deadline_no_command_starts() -> None:
    with proc.deadline(0.01):
        time.sleep(0.05)
        with pytest.raises(DeadlineExceeded, match=r"timed out after 0.01 s \(--timeout\)"):
            proc.run(["true"])
    proc.run(["true"])  # outside it, commands run again


def test_expired_kills_what_other_threads_wait_for() -> None:
    outcome: list[BaseException | proc.Completed] = []

    def waiting() -> None:
        try:
            outcome.append(proc.run(["sleep", "30"], check=False))
        except BaseException as error:
            outcome.append(error)

    with proc.deadline(60):
        worker = threading.Thread(target=waiting)
        worker.start()
        time.sleep(0.3)
        proc._deadline.at = time.monotonic()  # the alarm's moment
        error = proc.expired()
        worker.join(timeout=5)
    assert not worker.is_alive()
    assert isinstance(error, DeadlineExceeded)
    assert isinstance(outcome[0], DeadlineExceeded)  # killed, and said so


def test_a_held_ctrl_c_from_another_thread_waits_for_the_block() -> None:
    """Python runs signal handlers in the main thread whichever thread the signal reached, so
    blocking the signal in the main thread did not hold it: the hold is in the handler."""
    import os
    import signal

    seen: list[str] = []

    def on_interrupt(signum: int, frame: object) -> None:
        seen.append("handler")
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, proc.deferrable(on_interrupt))
    try:
        with pytest.raises(KeyboardInterrupt), proc.uninterrupted():
            sender = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT))
            sender.start()
            sender.join()
            end = time.monotonic() + 0.5
            while time.monotonic() < end:  # the handler has run by now, and waited
                pass
            with proc.uninterrupted():  # nested: still held when the inner block ends
                pass
            seen.append("cleanup done")
        assert seen == ["cleanup done", "handler"]
    finally:
        signal.signal(signal.SIGINT, before)


def test_sweep_removes_what_an_interrupted_cleanup_left(tmp_path: Path) -> None:
    left = proc.scratch("reviewtool-", tmp_path)
    (left / "repo.git").mkdir(parents=True)
    never_made = proc.scratch("reviewtool-", tmp_path)
    proc.sweep()
    assert not left.exists() and not never_made.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("reviewtool-")]
    proc.sweep()  # nothing left to do


def test_after_a_ctrl_c_other_threads_start_no_command() -> None:
    """A thread still applying into the temporary repository would race its removal."""
    proc.stop_commands()
    try:
        with ThreadPoolExecutor(1) as pool, pytest.raises(KeyboardInterrupt):
            pool.submit(proc.run, ["true"]).result()
        assert proc.run(["true"]).returncode == 0  # the main thread's cleanup still may
    finally:
        proc.allow_commands()
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(proc.run, ["true"]).result().returncode == 0
