"""What several commands share: reading the inputs, running the engine under the --timeout
deadline, writing the report, git config settings, and the exit code --fail-on gives."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewtool import config
from reviewtool.cli.options import FailOn, OutputFormat, ReplyTo, Toolchain
from reviewtool.errors import DeadlineExceeded, ExitCode, InputError, ToolchainError
from reviewtool.findings import at_or_above

# -q: no progress bar (set by the root command for the run).
QUIET = False

if TYPE_CHECKING:
    from reviewtool.findings import Finding
    from reviewtool.intake.mail import Source
    from reviewtool.kbuild.builder import BuildOptions
    from reviewtool.render import RenderOptions
    from reviewtool.report import Report
    from reviewtool.review import AuditOptions


def exit_code(findings: Iterable[Finding], fail_on: FailOn) -> int:
    """--fail-on: FINDINGS when a finding is at or above it, else OK."""
    return ExitCode.FINDINGS if at_or_above(findings, fail_on.severity) else ExitCode.OK


def configured(option: object, setting: object, default: object) -> object:
    """The command line's option, else git config's setting, else the built-in default."""
    return option if option is not None else setting if setting is not None else default


def enum_setting(
    kind: type[Enum], option: Enum | None, configured: str | None, default: str
) -> Any:
    if option is not None:
        return option
    try:
        return kind(configured or default)
    except ValueError:
        raise InputError(f"git config: {configured!r} is not supported by this command") from None


def run(
    sources: list[Source], options: AuditOptions, timeout: float | None, no_cache: bool
) -> Report:
    """The engine, with a progress bar on a terminal (not with -q), the --timeout deadline,
    and the --no-cache build directory removed however the run ends."""
    from reviewtool import review
    from reviewtool.cli.progressbar import progress_bar

    with progress_bar(QUIET) as progress, deadline(timeout), _scratch(options.build, no_cache):
        return review.run(sources, dataclasses.replace(options, progress=progress))


def build_options(
    tree: Path,
    base: str | None,
    arch: list[str] | None,
    jobs: int,
    toolchain: Toolchain,
    cache_dir: Path | None,
    no_cache: bool,
    sparse: bool = False,
    *,
    work_dir: Path | None = None,
) -> BuildOptions:
    from reviewtool.kbuild.builder import BuildOptions

    names = tuple(n.strip() for value in (arch or []) for n in value.split(",") if n.strip())
    if sparse and shutil.which("sparse") is None:
        raise ToolchainError("--sparse: sparse is not installed (Debian package sparse)")
    cache = (cache_dir or default_cache()).absolute()  # make runs in the cache: no relative
    if no_cache:  # removed by _scratch() when the run ends (or by proc.sweep())
        from reviewtool import proc

        cache = proc.scratch("reviewtool-build-", work_dir)
        cache.mkdir(mode=0o700)
    return BuildOptions(
        tree=tree,
        base=base,
        arches=names,
        jobs=jobs,
        toolchain=toolchain.value,
        cache_dir=cache,
        sparse=sparse,
        work_dir=work_dir,
    )


@contextlib.contextmanager
def _scratch(options: BuildOptions | None, no_cache: bool) -> Iterator[None]:
    """With --no-cache, remove the build directory when the run ends, however it ends."""
    from reviewtool import proc

    try:
        yield
    finally:
        if no_cache and options is not None and options.cache_dir is not None:
            proc.remove_scratch(options.cache_dir)


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """--timeout: every command, in any thread, is bounded by the deadline (reviewtool.proc),
    and an alarm stops the main thread's own work; either raises DeadlineExceeded, whose
    unwinding kills what still runs and removes the temporary directories."""
    import signal
    import threading

    from reviewtool import proc

    if seconds is None:
        yield
        return
    alarm = threading.current_thread() is threading.main_thread()
    # (tempfile's directory probe already ran, held, as main() started: see app.main)
    started = time.monotonic()

    fired: list[bool] = []

    def expire(signum: int, frame: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        fired.append(True)
        raise proc.expired()

    previous = signal.signal(signal.SIGALRM, proc.deferrable(expire)) if alarm else None
    if alarm:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with proc.deadline(seconds):
            yield
    except DeadlineExceeded:
        raise
    except Exception as error:
        # code the alarm interrupted may wrap its exception in its own (GitPython turns it
        # into an ImportError at import time): past the deadline, it is the deadline
        if fired or time.monotonic() - started >= seconds:
            raise proc.expired() from error
        raise
    else:
        if fired:  # code the alarm interrupted caught the error and went on: its result is not
            raise proc.expired()  # to be trusted (a parse made a finding of it)
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def parse_size(text: str) -> int:
    """--max-input-size: bytes, or a number with a K, M or G (binary) suffix."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = (value[:-1], value[-1]) if value[-1:] in ("K", "M", "G") else (value, "")
    try:
        size = int(float(number) * units[unit])
    except (ValueError, OverflowError):  # "", "B", "inf", "1e400"
        raise InputError(f"--max-input-size {text}: not a size (e.g. 64M)") from None
    if size <= 0:
        raise InputError(f"--max-input-size {text}: must be positive")
    return size


def check_work_dir(work_dir: Path | None) -> None:
    if work_dir is not None and not work_dir.is_dir():
        raise InputError(f"--work-dir {work_dir}: not a directory")


def finish(
    report: Report,
    output_format: OutputFormat,
    output: Path | None,
    fail_on: FailOn,
    report_url: str | None = None,
    email: RenderOptions | None = None,
) -> int:
    from reviewtool.render import RenderOptions, render

    rich = output is None and output_format is OutputFormat.text and sys.stdout.isatty()
    width = _terminal_width() if rich else 100
    options = RenderOptions(rich=rich, width=width, report_url=report_url)
    if output_format is OutputFormat.email:
        options = _email_defaults(email or options, options)
    text = render(report, output_format.value, options)
    emit(text, output)
    return exit_code(report.findings, fail_on)


def email_options(
    reply_to: ReplyTo, email_from: str | None, email_clean: bool, inbox: str | None
) -> RenderOptions:
    from reviewtool.render import RenderOptions

    return RenderOptions(
        reply_to=reply_to.value,
        email_from=email_from or "",
        email_clean=email_clean,
        inbox_url=inbox or "",
    )


def _email_defaults(chosen: RenderOptions, base: RenderOptions) -> RenderOptions:
    """Fill what the email renderer must not look up itself: From: and Date:."""
    from datetime import datetime, timezone
    from email.utils import format_datetime

    sender = chosen.email_from or _git_identity()
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    when = (
        datetime.fromtimestamp(int(epoch), timezone.utc)
        if epoch.isdigit()
        else datetime.now(timezone.utc).astimezone()
    )
    return dataclasses.replace(
        chosen,
        rich=False,
        width=base.width,
        report_url=base.report_url,
        email_from=sender,
        email_date=chosen.email_date or format_datetime(when),
    )


def _git_identity() -> str:
    from reviewtool.git import run_git

    values = []
    for key in ("user.name", "user.email"):
        result = run_git("config", "--get", key, check=False)
        values.append(result.stdout.decode("utf-8", "replace").strip())
    name, address = values
    if not address:
        raise InputError("--format email needs --email-from (or git config user.email)")
    return f"{name} <{address}>" if name else address


def emit_bytes(data: bytes, output: Path | None) -> None:
    """The report on stdout, or in `output`: a regular file is replaced atomically (through a
    symlink, its target is), anything else that exists (/dev/null, a FIFO, a terminal) is
    written to as it is, never replaced."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        if output.exists() and not output.is_file():
            with output.open("wb") as stream:
                stream.write(data)
            return
        target = output.resolve() if output.is_symlink() else output
        directory = target.parent if str(target.parent) else Path(".")
        with tempfile.NamedTemporaryFile(
            "wb", dir=directory, prefix=f".{target.name}.", delete=False
        ) as handle:
            handle.write(data)
        os.replace(handle.name, target)
    except OSError as error:
        raise InputError(f"{output}: cannot write: {error.strerror}") from error


def emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    emit_bytes(text.encode("utf-8"), output)


def default_cache() -> Path:
    return config.default_cache_dir()


def sources(arguments: list[str], max_size: int | None = None) -> list[Source]:
    """The inputs; with max_size, each is refused before it is read when larger."""
    from reviewtool.intake.mail import Source, check_size, read_bounded

    if arguments.count("-") > 1:
        raise InputError("stdin (-) can be given only once")
    inputs: list[Source] = []
    for argument in arguments:
        if argument == "-":
            data = read_bounded(sys.stdin.buffer, "<stdin>", max_size)
            inputs.append(Source(name="<stdin>", data=data))
        else:
            inputs.append(Source(name=argument, path=Path(argument)))
            check_size(inputs[-1], max_size)
    return inputs


def refuse_overwriting_input(output: Path, sources: list[Source], what: str = "series") -> None:
    """--output must not replace an input: a file given, or a file inside a directory given
    (a maildir or a directory of patches)."""
    if not output.exists():
        return
    target = output.resolve()
    for source in sources:
        if source.path is None or not source.path.exists():
            continue
        given = source.path.resolve()
        if target == given or (source.path.is_dir() and given in target.parents):
            raise InputError(f"{output}: --output would overwrite the input {what}")


def _terminal_width() -> int:
    return max(60, min(shutil.get_terminal_size().columns, 160))


def one_line(text: str) -> str:
    """Text for one stderr line: control and bidi characters in visible form (as the report
    formats show them: a path can carry ESC sequences or U+202E), line breaks as \\n."""
    from reviewtool.render.common import visible

    return visible(text).replace("\n", "\\n").replace("\t", " ")
