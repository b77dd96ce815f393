"""The one subprocess helper: every external command runs through run()."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewtool.errors import DeadlineExceeded, ToolchainError


# The run's wall-clock deadline (time.monotonic()), and every child process still running, so
# that an expired --timeout can stop all of them, whichever thread started them.
@dataclass
class _Deadline:
    at: float | None = None  # time.monotonic() value
    seconds: float = 0.0
    hit: bool = False  # the last deadline expired (stays set after its block ends)


_deadline = _Deadline()
_running: set[subprocess.Popen[bytes]] = set()
_running_lock = threading.Lock()


@dataclass(frozen=True)
class Completed:
    """A finished command: its arguments, exit code and captured output."""

    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes


class CalledProcessError(ToolchainError):
    """A command failed; the message shows the command, its exit code and its output."""

    def __init__(self, result: Completed) -> None:
        output = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
        first = output.splitlines()[0] if output else "no output"
        super().__init__(
            f"command failed with exit code {result.returncode}: {_quote(result.args)}: {first}",
            details=_indent(output),
        )
        self.result = result


def _quote(args: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(arg) for arg in args)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def run(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    input: bytes | None = None,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    merge_output: bool = False,
) -> Completed:
    """Run cmd, capture its output; raise CalledProcessError when check and it fails.

    `merge_output` interleaves stderr into stdout as the program wrote them (to attribute
    compiler messages to the `CC` line before them). On a timeout the whole process group is
    killed, so no sub-make or compiler keeps writing after we gave up on it. Under a
    `deadline()`, the timeout is cut to what is left of it and DeadlineExceeded is raised when
    that is what ended the command.
    """
    limit, by_deadline = _limit(timeout)
    process = _spawn(
        cmd,
        env,
        cwd,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
    )
    try:
        stdout, stderr = process.communicate(input=input, timeout=limit)
    except subprocess.TimeoutExpired as error:
        _kill_group(process)
        if by_deadline:
            raise _expired() from error
        raise ToolchainError(f"timed out after {timeout} s: {_quote(cmd)}") from error
    except BaseException:
        _kill_group(process)
        raise
    finally:
        with _running_lock:
            _running.discard(process)
    if _deadline.at is not None and time.monotonic() >= _deadline.at:
        raise _expired()  # perhaps killed by kill_all(): its result cannot be trusted
    result = Completed(tuple(cmd), process.returncode, stdout or b"", stderr or b"")
    if check and result.returncode != 0:
        raise CalledProcessError(result)
    return result


def start(
    cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """A long-running command that talks over pipes (`git cat-file --batch`). It is killed
    with every other command when the deadline expires; stop() it when done."""
    check_deadline()
    return _spawn(cmd, env, cwd, stdin=subprocess.PIPE, stderr=None)


def _spawn(
    cmd: Sequence[str],
    env: Mapping[str, str] | None,
    cwd: Path | None,
    *,
    stdin: int,
    stderr: int | None,
) -> subprocess.Popen[bytes]:
    """Start cmd in a process group of its own, known to kill_all() until it is discarded.
    The alarm and Ctrl-C wait until it is known: one that interrupted Popen() after the fork
    would leave a command running that nothing kills or waits for."""
    if _Stop.requested and threading.current_thread() is not threading.main_thread():
        raise KeyboardInterrupt  # handed to the main thread like any error of this thread
    with uninterrupted():
        try:
            process = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
        except FileNotFoundError as error:
            raise ToolchainError(f"{cmd[0]}: not found; is it installed?") from error
        with _running_lock:
            _running.add(process)
    return process


def stop(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """End a command start() began: close its input and wait (kill: at once)."""
    try:
        if kill:
            _kill_group(process)
        else:
            if process.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _kill_group(process)
    finally:
        with _running_lock:
            _running.discard(process)
        for stream in (process.stdin, process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


def check_deadline() -> None:
    """Raise DeadlineExceeded when the run's deadline has passed."""
    if _deadline.at is not None and time.monotonic() >= _deadline.at:
        raise _expired()


def _limit(timeout: float | None) -> tuple[float | None, bool]:
    """The timeout to wait for, and whether it is the deadline's rather than the caller's."""
    if _deadline.at is None:
        return timeout, False
    left = _deadline.at - time.monotonic()
    if left <= 0:
        raise _expired()
    if timeout is not None and timeout < left:
        return timeout, False
    return left, True


def _expired() -> DeadlineExceeded:
    _deadline.hit = True
    return DeadlineExceeded(f"timed out after {_deadline.seconds:g} s (--timeout)")


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound every command run() starts, in any thread, to seconds from now (None: no bound)."""
    if seconds is None:
        yield
        return
    _deadline.at, _deadline.seconds = time.monotonic() + seconds, seconds
    _deadline.hit = False
    try:
        yield
    finally:
        _deadline.at = None


def deadline_hit() -> bool:
    """Whether the run's last deadline expired."""
    return _deadline.hit


def expired() -> DeadlineExceeded:
    """The error for an expired deadline, after killing every command still running."""
    kill_all()
    return _expired()


def kill_all() -> None:
    """Kill the process group of every command run() is waiting for, in any thread."""
    with _running_lock:
        processes = list(_running)
    for process in processes:
        _signal_group(process)


def _signal_group(process: subprocess.Popen[bytes]) -> None:
    import contextlib
    import os
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    _signal_group(process)
    process.wait()


class _Hold:
    """How deep the main thread is in uninterrupted() blocks, and the signals that arrived
    meanwhile (handler, signal number), to be delivered when the outermost block ends."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending: list[tuple[Callable[[int, Any], None], int]] = []


_hold = _Hold()


class _Stop:
    """Set by a Ctrl-C: the commands running are killed and other threads start none."""

    requested = False


def stop_commands() -> None:
    """Kill every command still running, and refuse new ones outside the main thread (whose
    cleanup may still need one): a thread still working on the temporary repository would
    race its removal."""
    _Stop.requested = True
    kill_all()


def allow_commands() -> None:
    """A new run starts: commands may run again."""
    _Stop.requested = False


def deferrable(
    handler: Callable[[int, Any], None], now: Callable[[], None] | None = None
) -> Callable[[int, Any], None]:
    """A signal handler (Ctrl-C, --timeout's alarm) that waits while uninterrupted() holds
    signals off. Python runs handlers in the main thread only, between two lines, whichever
    thread the system delivered the signal to: holding them here is what makes the hold hold
    (blocking the signal in the main thread alone does not, while other threads run). `now`
    runs at once, held or not."""

    def handle(signum: int, frame: Any) -> None:
        if now is not None:
            now()  # what cannot wait (stopping commands), even while held
        if _hold.depth:
            _hold.pending.append((handler, signum))
            return
        handler(signum, frame)

    return handle


class uninterrupted:  # lower case, like contextlib.suppress: used as `with uninterrupted():`
    """Hold Ctrl-C and the --timeout alarm (deferrable() handlers) off while cleanup runs in
    the main thread: one that arrives meanwhile is delivered once the block is done, instead
    of abandoning the cleanup halfway (a temporary repository left behind). Elsewhere than in
    the main thread it does nothing: handlers never run there."""

    def __init__(self) -> None:
        self._main = threading.get_ident() == threading.main_thread().ident

    def __enter__(self) -> None:
        if self._main:
            _hold.depth += 1

    def __exit__(self, *_: object) -> None:
        if not self._main:
            return
        _hold.depth -= 1
        if _hold.depth == 0 and _hold.pending:
            (handler, signum), *_rest = _hold.pending
            _hold.pending.clear()
            handler(signum, None)


# Temporary directories of the run, from the moment their name is chosen until they are
# removed: whatever interrupts a cleanup, the command line's last step removes what is left.
_scratch: set[Path] = set()


def scratch(prefix: str, parent: Path | None = None) -> Path:
    """A new temporary directory's name in parent (None: the temp dir), registered for
    removal by sweep() before it exists: an interruption between naming and creating it, or
    during its cleanup, leaves nothing behind. The caller creates it."""
    import secrets
    import tempfile

    path = (parent or Path(tempfile.gettempdir())) / f"{prefix}{secrets.token_hex(8)}"
    _scratch.add(path)
    return path


def remove_scratch(path: Path) -> None:
    """Remove a registered temporary directory now (held against Ctrl-C and the alarm)."""
    import shutil

    with uninterrupted():
        for _ in range(3):  # a command killed a moment ago may still have been writing in it
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                break
            time.sleep(0.05)
        _scratch.discard(path)


def sweep() -> None:
    """Remove every temporary directory a cleanup did not get to."""
    for path in sorted(_scratch):
        remove_scratch(path)
