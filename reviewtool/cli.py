"""The command line. Only this module prints or exits; heavy modules are imported lazily."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reviewtool import __version__
from reviewtool.errors import ExitCode, InputError, ReviewtoolError, ToolchainError

if TYPE_CHECKING:
    from reviewtool.build import BuildOptions
    from reviewtool.mail import Source
    from reviewtool.report import Report

log = logging.getLogger(__name__)

app = typer.Typer(
    name="reviewtool",
    help="Review assistant for Linux kernel patch series.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"


class Toolchain(str, Enum):
    auto = "auto"
    gcc = "gcc"
    clang = "clang"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    note = "note"
    never = "never"


# Options that audit and build share.
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Report format.")]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the report to FILE instead of stdout.",
        dir_okay=False,
        show_default=False,
    ),
]
FailOnOption = Annotated[
    FailOn, typer.Option(help="Exit 1 when a finding is at or above this severity.")
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reviewtool {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, help="Log progress to stderr (-vv: debug)."),
    ] = 0,
) -> None:
    """Review assistant for Linux kernel patch series."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="reviewtool: %(message)s", stream=sys.stderr)


@app.command()
def audit(
    series: Annotated[
        list[str] | None,
        typer.Argument(
            help="The series: an mbox/mboxrd file, a maildir, a directory or list of "
            "git format-patch files, or - for stdin.",
            show_default=False,
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.text,
    output: OutputOption = None,
    fail_on: FailOnOption = FailOn.error,
    keep_going: Annotated[
        bool,
        typer.Option(
            "--keep-going", "-k", help="Report broken messages as findings and audit the rest."
        ),
    ] = False,
    revision: Annotated[
        int | None,
        typer.Option(
            help="Audit revision N when the input holds several (default: newest).",
            min=1,
            show_default=False,
        ),
    ] = None,
    tree: Annotated[
        Path | None,
        typer.Option(
            help="A kernel git tree: apply the series in a throw-away repository and audit "
            "the call sites of every API whose contract it changes.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            help="Apply on this revision of --tree (default: the series' base-commit: when "
            "the tree has it, else HEAD).",
            show_default=False,
        ),
    ] = None,
    strict_apply: Annotated[
        bool,
        typer.Option(
            help="Stop (exit 2) when a patch does not apply, instead of applying "
            "what applies and going on."
        ),
    ] = False,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            help="Contract rule to audit (an id from --list-rules, or a TOML file); "
            "repeatable. Default: every rule whose names the series' added lines mention.",
            show_default=False,
        ),
    ] = None,
    list_rules: Annotated[bool, typer.Option(help="List the contract rules and exit.")] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where to keep search results between runs (default: $XDG_CACHE_HOME/reviewtool).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option(help="Keep no cache between runs.")] = False,
    build: Annotated[
        bool,
        typer.Option(
            "--build", help="With --tree, also cross-build every patch (see `reviewtool build`)."
        ),
    ] = False,
    arch: Annotated[
        list[str] | None,
        typer.Option(
            help="With --build: architectures to build (repeatable or comma "
            "separated; default: those the series touches, plus the host).",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int, typer.Option(help="With --build: architectures built at once.", min=1)
    ] = 2,
    toolchain: Annotated[
        Toolchain, typer.Option(help="With --build: the compiler to use.")
    ] = Toolchain.auto,
) -> int:
    """Audit a patch series: parse it, check that it is well formed, and report findings.

    With --tree, also apply it to a kernel tree and audit every call site of the APIs whose
    contract the series changes, tree-wide, for the base and after each patch.
    """
    from reviewtool.review import AuditOptions, run

    if list_rules:
        return _list_rules()
    if not series:
        raise InputError("missing SERIES (an mbox, maildir, patch files or -)")
    sources = _sources(series)
    if output is not None:
        _refuse_overwriting_input(output, sources)
    tree_options = None
    if tree is not None:
        from reviewtool.treeaudit import TreeOptions

        tree_options = TreeOptions(
            tree=tree,
            base=base,
            strict_apply=strict_apply,
            rules=tuple(rule or ()),
            cache_dir=None if no_cache else (cache_dir or _default_cache()),
        )
    elif base or rule or strict_apply or build:
        raise InputError("--base, --rule, --strict-apply and --build need --tree")
    build_options = None
    if build and tree is not None:
        build_options = _build_options(tree, base, arch, jobs, toolchain, cache_dir, no_cache)
    with _progress() as progress:
        if build_options is not None:
            build_options = dataclasses.replace(build_options, progress=progress)
        report = run(
            sources,
            AuditOptions(
                revision=revision, keep_going=keep_going, tree=tree_options, build=build_options
            ),
        )
    return _finish(report, output_format, output, fail_on)


@app.command("build")
def build_command(
    series: Annotated[
        list[str],
        typer.Argument(help="The series (as for audit).", show_default=False),
    ],
    tree: Annotated[
        Path,
        typer.Option(
            help="The kernel git tree to apply the series to and build.",
            file_okay=False,
            show_default=False,
        ),
    ],
    arch: Annotated[
        list[str] | None,
        typer.Option(
            help="Architectures to build (repeatable or comma separated; default: "
            "every arch/<arch> the series touches, plus the host for generic code). "
            "Also selects a shard for `reviewtool merge`.",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[int, typer.Option(help="Architectures built at once.", min=1)] = 2,
    toolchain: Annotated[Toolchain, typer.Option(help="The compiler to use.")] = Toolchain.auto,
    base: Annotated[
        str | None,
        typer.Option(help="Apply on this revision (default as for audit).", show_default=False),
    ] = None,
    output_format: FormatOption = OutputFormat.text,
    output: OutputOption = None,
    fail_on: FailOnOption = FailOn.error,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where build directories are kept (default: $XDG_CACHE_HOME/reviewtool).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option(help="Build in a fresh directory.")] = False,
    sparse: Annotated[
        bool, typer.Option(help="Also run sparse (C=1) on the objects (needs `sparse`).")
    ] = False,
) -> int:
    """Cross-build every patch of a series on every architecture it touches.

    The base is built first; after each patch only the objects whose dependencies changed are
    rebuilt, and only the warnings and errors the patch adds are reported.
    """
    from reviewtool.review import AuditOptions, run

    sources = _sources(series)
    if output is not None:
        _refuse_overwriting_input(output, sources)
    options = _build_options(tree, base, arch, jobs, toolchain, cache_dir, no_cache, sparse)
    with _progress() as progress:
        options = dataclasses.replace(options, progress=progress)
        report = run(sources, AuditOptions(build=options, checks=False))
    return _finish(report, output_format, output, fail_on)


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str], None] | None]:
    """A rich status line on stderr while a long build runs, when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console

    with Console(stderr=True).status("starting") as status:
        yield status.update


def _build_options(
    tree: Path,
    base: str | None,
    arch: list[str] | None,
    jobs: int,
    toolchain: Toolchain,
    cache_dir: Path | None,
    no_cache: bool,
    sparse: bool = False,
) -> BuildOptions:
    from reviewtool.build import BuildOptions

    names = tuple(n.strip() for value in (arch or []) for n in value.split(",") if n.strip())
    cache = cache_dir or _default_cache()
    if no_cache:
        cache = Path(tempfile.mkdtemp(prefix="reviewtool-build-"))
    if sparse and shutil.which("sparse") is None:
        raise ToolchainError("--sparse: sparse is not installed (Debian package sparse)")
    return BuildOptions(
        tree=tree,
        base=base,
        arches=names,
        jobs=jobs,
        toolchain=toolchain.value,
        cache_dir=cache,
        sparse=sparse,
    )


def _finish(
    report: Report, output_format: OutputFormat, output: Path | None, fail_on: FailOn
) -> int:
    from reviewtool.findings import Severity
    from reviewtool.render import RenderOptions, render

    rich = output is None and output_format is OutputFormat.text and sys.stdout.isatty()
    width = _terminal_width() if rich else 100
    text = render(report, output_format.value, RenderOptions(rich=rich, width=width))
    _emit(text, output)
    if fail_on is FailOn.never:
        return ExitCode.OK
    return ExitCode.FINDINGS if report.worst_at_least(Severity(fail_on.value)) else ExitCode.OK


@app.command()
def merge(
    reports: Annotated[
        list[Path],
        typer.Argument(
            help="JSON reports of shards of one run (`--format json`).",
            exists=False,
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the merged JSON to FILE.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit 1 when a merged finding is at or above this severity.")
    ] = FailOn.error,
) -> int:
    """Merge JSON reports of one series built in shards (one per --arch) into one report."""
    from reviewtool.merge import merge_reports

    merged = merge_reports(reports)
    import json

    _emit(json.dumps(merged, indent=2, sort_keys=True, ensure_ascii=False) + "\n", output)
    if fail_on is FailOn.never:
        return ExitCode.OK
    ranks = {"error": 3, "warning": 2, "note": 1}
    threshold = ranks[fail_on.value]
    worst = max((ranks[f["severity"]] for f in merged["findings"]), default=0)
    return ExitCode.FINDINGS if worst >= threshold else ExitCode.OK


@app.command()
def rules() -> int:
    """List the rules reviewtool checks, with their default severity."""
    from reviewtool.checks import RULES

    for rule in RULES.values():
        typer.echo(f"{rule.id:<30} {rule.severity.value:<8} {rule.summary}")
    return ExitCode.OK


def _list_rules() -> int:
    from reviewtool.rules import load_rule, rule_names

    for name in rule_names():
        contract = load_rule(name)
        typer.echo(f"{contract.id:<30} {contract.title}")
    return ExitCode.OK


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reviewtool"


def _sources(arguments: list[str]) -> list[Source]:
    from reviewtool.mail import Source

    if arguments.count("-") > 1:
        raise InputError("stdin (-) can be given only once")
    sources: list[Source] = []
    for argument in arguments:
        if argument == "-":
            sources.append(Source(name="<stdin>", data=sys.stdin.buffer.read()))
        else:
            sources.append(Source(name=argument, path=Path(argument)))
    return sources


def _refuse_overwriting_input(output: Path, sources: list[Source]) -> None:
    for source in sources:
        exists = source.path is not None and source.path.exists() and output.exists()
        if exists and source.path is not None and output.resolve() == source.path.resolve():
            raise InputError(f"{output}: --output would overwrite the input series")


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    directory = output.parent if str(output.parent) else Path(".")
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=directory, prefix=f".{output.name}.", delete=False
        ) as handle:
            handle.write(text)
        os.replace(handle.name, output)
    except OSError as error:
        raise InputError(f"{output}: cannot write: {error.strerror}") from error


def _terminal_width() -> int:
    import shutil

    return max(60, min(shutil.get_terminal_size().columns, 160))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map every outcome to a documented exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(
            args=argv if argv is not None else sys.argv[1:],
            prog_name="reviewtool",
            standalone_mode=False,
        )
    except typer.Exit as done:
        return done.exit_code
    except typer.TyperException as error:
        return _usage_error(error)
    except (KeyboardInterrupt, typer.Abort):
        _error("interrupted")
        return ExitCode.INTERRUPTED
    except ReviewtoolError as error:
        _error(error.message)
        if error.details() and log.isEnabledFor(logging.INFO):
            sys.stderr.write(error.details() + "\n")
        return error.exit_code
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as error:  # the one place that turns a bug into exit code 4
        if os.environ.get("REVIEWTOOL_DEBUG"):
            raise
        _error(
            f"internal error: {type(error).__name__}: {error}"
            " (set REVIEWTOOL_DEBUG=1 for a traceback)"
        )
        return ExitCode.INTERNAL
    return int(result) if isinstance(result, int) else ExitCode.OK


def _usage_error(error: typer.TyperException) -> int:
    """Typer's parse errors: a bare command prints its help, anything else one line."""
    message = error.format_message()
    context = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError":
        sys.stderr.write(message + "\n")
        return ExitCode.INPUT
    _error(message.splitlines()[0] if message else type(error).__name__)
    if context is not None:
        sys.stderr.write(f"Try '{context.command_path} --help' for help.\n")
    return ExitCode.INPUT


def _error(message: str) -> None:
    sys.stderr.write(f"reviewtool: error: {message}\n")
