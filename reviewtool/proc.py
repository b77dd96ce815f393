"""The one subprocess helper: every external command runs through run()."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reviewtool.errors import ToolchainError


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
    killed, so no sub-make or compiler keeps writing after we gave up on it.
    """
    try:
        process = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
            env=None if env is None else dict(env),
            start_new_session=True,
        )
    except FileNotFoundError as error:
        raise ToolchainError(f"{cmd[0]}: not found; is it installed?") from error
    try:
        stdout, stderr = process.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        _kill_group(process)
        raise ToolchainError(f"timed out after {timeout} s: {_quote(cmd)}") from error
    except BaseException:
        _kill_group(process)
        raise
    result = Completed(tuple(cmd), process.returncode, stdout or b"", stderr or b"")
    if check and result.returncode != 0:
        raise CalledProcessError(result)
    return result


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    import contextlib
    import os
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
