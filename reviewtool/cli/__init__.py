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
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reviewtool import __version__
from reviewtool.errors import ExitCode, InputError, ReviewtoolError, ToolchainError

if TYPE_CHECKING:
    from reviewtool.config import Settings
    from reviewtool.intake.mail import Source
    from reviewtool.kbuild.builder import BuildOptions
    from reviewtool.render import RenderOptions
    from reviewtool.report import Report
    from reviewtool.review import AuditOptions

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
    codequality = "codequality"
    email = "email"


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
JobsOption = Annotated[int, typer.Option(help="With --build: architectures built at once.", min=1)]
NoCacheOption = Annotated[bool, typer.Option(help="Keep no cache between runs.")]
# Bounds for running unattended on hostile input (a CI bot): time, input size, directories.
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="Stop after SECONDS of wall time, killing every command still running (exit 124).",
        min=0.001,
        show_default=False,
    ),
]
MaxInputSizeOption = Annotated[
    str,
    typer.Option(
        "--max-input-size",
        help="Refuse an input larger than this (bytes, or with a K, M or G suffix; exit 2).",
    ),
]
WorkDirOption = Annotated[
    Path | None,
    typer.Option(
        "--work-dir",
        help="Where temporary repositories and build directories go (default: the system "
        "temp dir); nothing is left there.",
        file_okay=False,
        show_default=False,
    ),
]
ReportUrlOption = Annotated[
    str | None,
    typer.Option(
        "--report-url",
        help="With --format markdown: where the full report is, linked when the comment "
        "must be shortened to fit a pull request comment.",
        show_default=False,
    ),
]
DEFAULT_MAX_INPUT_SIZE = "64M"


# --format email and the CI bot (`reviewtool bot`): where the series comes from, how to reply.
class ReplyTo(str, Enum):
    cover = "cover"
    patch = "patch"


InboxOption = Annotated[
    str | None,
    typer.Option(
        "--inbox",
        help="A public-inbox archive URL (https://lore.kernel.org/all/): SERIES are Message-Ids "
        "whose threads are fetched from it.",
        show_default=False,
    ),
]
ReplyToOption = Annotated[
    ReplyTo,
    typer.Option(
        "--reply-to",
        help="With --format email: one reply to the cover letter, or one per patch with findings.",
    ),
]
EmailFromOption = Annotated[
    str | None,
    typer.Option(
        "--email-from",
        help="With --format email: the From: of the reply (default: git config user.name "
        "and user.email).",
        show_default=False,
    ),
]
EmailCleanOption = Annotated[
    bool,
    typer.Option(
        "--email-clean",
        help="With --format email: reply also when there is nothing to report (default: "
        "no output, as kernel bots stay silent on success).",
    ),
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
    output_format: ConfiguredFormatOption = None,
    output: OutputOption = None,
    fail_on: ConfiguredFailOnOption = None,
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
    no_cache: NoCacheOption = False,
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
    jobs: JobsOption = 2,
    toolchain: Annotated[
        Toolchain, typer.Option(help="With --build: the compiler to use.")
    ] = Toolchain.auto,
    timeout: TimeoutOption = None,
    max_input_size: MaxInputSizeOption = DEFAULT_MAX_INPUT_SIZE,
    work_dir: WorkDirOption = None,
    report_url: ReportUrlOption = None,
    inbox: InboxOption = None,
    reply_to: ReplyToOption = ReplyTo.cover,
    email_from: EmailFromOption = None,
    email_clean: EmailCleanOption = False,
) -> int:
    """Audit a patch series: parse it, check that it is well formed, and report findings.

    With --tree, also apply it to a kernel tree and audit every call site of the APIs whose
    contract the series changes, tree-wide, for the base and after each patch.
    """
    from reviewtool.review import AuditOptions

    if list_rules:
        return _list_rules()
    if not series:
        raise InputError("missing SERIES (an mbox, maildir, patch files or -)")
    settings = _settings(tree)
    output_format = _enum_setting(OutputFormat, output_format, settings.format, "text")
    fail_on = _enum_setting(FailOn, fail_on, settings.fail_on, "error")
    cache_dir = cache_dir or settings.cache_dir
    email_from = email_from or settings.email_from
    if inbox is not None:
        sources = _inbox_sources(inbox, series, _size(max_input_size))
    else:
        sources = _sources(series, _size(max_input_size))
    _check_work_dir(work_dir)
    if output is not None:
        _refuse_overwriting_input(output, sources)
    tree_options = None
    if tree is not None:
        from reviewtool.analysis.treeaudit import TreeOptions

        tree_options = TreeOptions(
            tree=tree,
            base=base,
            strict_apply=strict_apply,
            rules=tuple(rule or ()),
            cache_dir=None if no_cache else (cache_dir or _default_cache()),
            work_dir=work_dir,
        )
    elif base or rule or strict_apply or build:
        raise InputError("--base, --rule, --strict-apply and --build need --tree")
    build_options = None
    if build and tree is not None:
        build_options = _build_options(
            tree, base, arch, jobs, toolchain, cache_dir, no_cache, work_dir=work_dir
        )
    options = AuditOptions(
        revision=revision, keep_going=keep_going, tree=tree_options, build=build_options
    )
    report = _run(sources, options, timeout, no_cache)
    email = _email_options(reply_to, email_from, email_clean, inbox)
    return _finish(report, output_format, output, fail_on, report_url, email)


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
    timeout: TimeoutOption = None,
    max_input_size: MaxInputSizeOption = DEFAULT_MAX_INPUT_SIZE,
    work_dir: WorkDirOption = None,
    report_url: ReportUrlOption = None,
) -> int:
    """Cross-build every patch of a series on every architecture it touches.

    The base is built first; after each patch only the objects whose dependencies changed are
    rebuilt, and only the warnings and errors the patch adds are reported.
    """
    from reviewtool.review import AuditOptions

    sources = _sources(series, _size(max_input_size))
    _check_work_dir(work_dir)
    if output is not None:
        _refuse_overwriting_input(output, sources)
    options = _build_options(
        tree, base, arch, jobs, toolchain, cache_dir, no_cache, sparse, work_dir=work_dir
    )
    report = _run(sources, AuditOptions(build=options, checks=False), timeout, no_cache)
    return _finish(report, output_format, output, fail_on, report_url)


# --- reviewtool check and the sendemail-validate hook -------------------------------------
# Options that git config can also set default to None here and are resolved explicitly:
# the command line beats `git config reviewtool.*`, which beats the built-in default.
ConfiguredFormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="Report format (git config reviewtool.format; default: text).",
        show_default=False,
    ),
]
ConfiguredFailOnOption = Annotated[
    FailOn | None,
    typer.Option(
        help="Exit 1 when a finding is at or above this severity "
        "(git config reviewtool.failOn; default: error).",
        show_default=False,
    ),
]
RepoOption = Annotated[
    Path | None,
    typer.Option(
        "--repo",
        "-C",
        help="The git repository (default: the current directory).",
        file_okay=False,
        show_default=False,
    ),
]
ConfiguredRuleOption = Annotated[
    list[str] | None,
    typer.Option(
        help="Contract rule to audit (an id or a TOML file), repeatable "
        "(git config reviewtool.rule; default: the rules the series touches).",
        show_default=False,
    ),
]
ConfiguredTreeOption = Annotated[
    bool | None,
    typer.Option(
        "--tree/--no-tree",
        help="Audit call sites in the repository; --no-tree runs the series checks only "
        "(git config reviewtool.tree; default: on).",
        show_default=False,
    ),
]


def _settings(tree: Path | None) -> Settings:
    """git config reviewtool.* as it applies in the tree given, else where the command runs
    (outside a repository: the global and system configuration)."""
    from reviewtool import config

    where = tree if tree is not None and tree.is_dir() else Path.cwd()
    return config.load(where)


def _configured(option: object, configured: object, default: object) -> object:
    return option if option is not None else configured if configured is not None else default


def _enum_setting(
    kind: type[Enum], option: Enum | None, configured: str | None, default: str
) -> Any:
    if option is not None:
        return option
    try:
        return kind(configured or default)
    except ValueError:
        raise InputError(f"git config: {configured!r} is not supported by this command") from None


@app.command()
def check(
    rev_range: Annotated[
        str | None,
        typer.Argument(
            metavar="[REV_RANGE]",
            help="The commits to check: A..B, A...B, or A for A..HEAD "
            "(default: @{upstream}..HEAD).",
            show_default=False,
        ),
    ] = None,
    repo: RepoOption = None,
    base: Annotated[
        str | None,
        typer.Option(help="Check REV..HEAD.", metavar="REV", show_default=False),
    ] = None,
    output_format: ConfiguredFormatOption = None,
    output: OutputOption = None,
    fail_on: ConfiguredFailOnOption = None,
    rule: ConfiguredRuleOption = None,
    tree: ConfiguredTreeOption = None,
    build: Annotated[
        bool | None,
        typer.Option(
            "--build/--no-build",
            help="Also cross-build every patch (git config reviewtool.build; default: off).",
            show_default=False,
        ),
    ] = None,
    arch: Annotated[
        list[str] | None,
        typer.Option(
            help="With --build: architectures, repeatable or comma separated "
            "(git config reviewtool.arch).",
            show_default=False,
        ),
    ] = None,
    jobs: JobsOption = 2,
    toolchain: Annotated[
        Toolchain | None,
        typer.Option(
            help="With --build: the compiler (git config reviewtool.toolchain; default: auto).",
            show_default=False,
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where search results and builds are kept between runs "
            "(git config reviewtool.cacheDir; default: $XDG_CACHE_HOME/reviewtool).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    no_cache: NoCacheOption = False,
    timeout: TimeoutOption = None,
    work_dir: WorkDirOption = None,
) -> int:
    """Check the commits of a branch before sending them: the series they become with
    `git format-patch`, and the call sites they change in this repository.

    A b4 prep branch's cover letter commit becomes the cover letter. Your checkout, index,
    branches and stash are only read.
    """
    from reviewtool import config
    from reviewtool.analysis.treeaudit import TreeOptions
    from reviewtool.intake import gitrange
    from reviewtool.review import AuditOptions

    _check_work_dir(work_dir)
    repository = gitrange.open_repository(repo or Path.cwd())
    settings = config.load(repository)
    chosen_format = _enum_setting(OutputFormat, output_format, settings.format, "text")
    threshold = _enum_setting(FailOn, fail_on, settings.fail_on, "error")
    chosen_toolchain = _enum_setting(Toolchain, toolchain, settings.toolchain, "auto")
    audit_tree = bool(_configured(tree, settings.tree, True))
    wants_build = bool(_configured(build, settings.build, False))
    if build and not audit_tree:
        raise InputError("--build needs the tree audit (off by --no-tree or reviewtool.tree)")
    cache = cache_dir or settings.cache_dir
    commit_range = gitrange.resolve_range(repository, rev_range, base)
    series = gitrange.range_series(commit_range)
    tree_options = None
    if audit_tree:
        tree_options = TreeOptions(
            tree=repository,
            base=commit_range.base,
            rules=tuple(rule or settings.rules),
            cache_dir=None if no_cache else (cache or _default_cache()),
            work_dir=work_dir,
        )
    build_options = None
    if wants_build and audit_tree:
        arches = list(arch or settings.arches)
        build_options = _build_options(
            repository,
            commit_range.base,
            arches,
            jobs,
            chosen_toolchain,
            cache,
            no_cache,
            work_dir=work_dir,
        )
    # Without a cover commit, format-patch or b4 writes the cover letter at send time.
    skip = frozenset() if commit_range.cover else frozenset({"series-no-cover"})
    options = AuditOptions(tree=tree_options, build=build_options, skip_rules=skip)
    report = _run([series.source], options, timeout, no_cache)
    email = _email_options(ReplyTo.cover, settings.email_from, False, None)
    return _finish(report, chosen_format, output, threshold, email=email)


hook_app = typer.Typer(
    help="git send-email's sendemail-validate hook: audit the outgoing series before sending.",
    no_args_is_help=True,
)
app.add_typer(hook_app, name="hook")


@hook_app.command("install")
def hook_install(
    repo: RepoOption = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            help="Refuse to send at this severity (stored as git config reviewtool.failOn).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace a hook that is not reviewtool's, keeping it as a backup.")
    ] = False,
) -> int:
    """Install the sendemail-validate hook in the hooks directory git uses."""
    from reviewtool.intake import gitrange
    from reviewtool.integrations import hook

    repository = gitrange.open_repository(repo or Path.cwd())
    installed = hook.install(repository, sys.executable, force=force)
    if installed.backup is not None:
        typer.echo(f"kept the existing hook as {installed.backup}")
    verb = "updated" if installed.replaced_own else "installed"
    typer.echo(f"{verb} {installed.path}")
    if fail_on is not None:
        hook.store_fail_on(repository, fail_on.value)
        typer.echo(f"git config reviewtool.failOn {fail_on.value}")
    return ExitCode.OK


@hook_app.command("uninstall")
def hook_uninstall(repo: RepoOption = None) -> int:
    """Remove reviewtool's sendemail-validate hook (and restore the hook it replaced)."""
    from reviewtool.intake import gitrange
    from reviewtool.integrations import hook

    repository = gitrange.open_repository(repo or Path.cwd())
    removed = hook.uninstall(repository)
    if not removed.removed and removed.restored is None:
        typer.echo(f"no reviewtool hook at {removed.path}")
    elif removed.removed:
        typer.echo(f"removed {removed.path}")
    if removed.restored is not None:
        typer.echo(f"restored the earlier hook at {removed.restored}")
    return ExitCode.OK


@hook_app.command("run", hidden=False)
def hook_run(
    name: Annotated[str, typer.Argument(metavar="HOOK", help="sendemail-validate.")],
    patch_file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The outgoing message.", show_default=False)
    ],
    headers: Annotated[
        Path | None,
        typer.Argument(
            metavar="[SMTP_HEADERS_FILE]",
            help="Given by newer gits; not needed.",
            show_default=False,
        ),
    ] = None,
    repo: RepoOption = None,
    fail_on: ConfiguredFailOnOption = None,
    rule: ConfiguredRuleOption = None,
    tree: ConfiguredTreeOption = None,
) -> int:
    """Run as git's hook: audit the series FILE belongs to; exit 1 to stop the send."""
    from reviewtool import config
    from reviewtool.findings import Severity
    from reviewtool.intake import gitrange
    from reviewtool.integrations import hook

    if name != hook.HOOK_NAME:
        raise InputError(f"{name}: not a hook reviewtool provides (only {hook.HOOK_NAME})")
    repository = gitrange.open_repository(repo or Path.cwd())
    # git runs hooks with GIT_DIR (and more) set for the user's repository; the tree audit's
    # private repository must not inherit them. Every later git command names its repository.
    for variable in _GIT_LOCATION_VARIABLES:
        os.environ.pop(variable, None)
    settings = config.load(repository)
    threshold = _enum_setting(FailOn, fail_on, settings.fail_on, "error")
    build_options = None
    if settings.build:
        toolchain = _enum_setting(Toolchain, None, settings.toolchain, "auto")
        build_options = _build_options(
            repository, None, list(settings.arches), 2, toolchain, settings.cache_dir, False
        )
    options = hook.ValidateOptions(
        rules=tuple(rule or settings.rules),
        tree=bool(_configured(tree, settings.tree, True)),
        cache_dir=settings.cache_dir or _default_cache(),
        build=build_options,
    )
    counter = os.environ.get("GIT_SENDEMAIL_FILE_COUNTER", "")
    verdict = hook.validate(
        repository, patch_file, options, counter=int(counter) if counter.isdigit() else None
    )
    if verdict.first:
        for note in verdict.notes:
            sys.stderr.write(f"reviewtool: note: {note}\n")
    severity = None if threshold is FailOn.never else Severity(threshold.value)
    failing = hook.failing(verdict, severity)
    if not failing:
        return ExitCode.OK
    _print_refusal(verdict, failing, threshold)
    return ExitCode.FINDINGS


_GIT_LOCATION_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_PREFIX",
)


def _print_refusal(verdict: Any, failing: tuple[Any, ...], threshold: FailOn) -> None:
    files = len(verdict.files)
    sys.stderr.write(
        f"reviewtool: the outgoing series ({files} file{'s' if files != 1 else ''}) has "
        f"{len(failing)} finding{'s' if len(failing) != 1 else ''} at or above "
        f"{threshold.value}:\n"
    )
    for finding in failing:
        where = f"{finding.path}:{finding.line}: " if finding.path and finding.line else ""
        where = f"{finding.path}: " if finding.path and not finding.line else where
        patch = f"patch {finding.patch}: " if finding.patch is not None else ""
        sys.stderr.write(
            f"  {patch}{finding.severity.value} {finding.rule}: {where}{finding.message}\n"
        )
    sys.stderr.write(
        "reviewtool: not sending; fix the series, change `git config reviewtool.failOn`, or "
        "skip this check with `git send-email --no-validate`\n"
    )


def _run(
    sources: list[Source], options: AuditOptions, timeout: float | None, no_cache: bool
) -> Report:
    """The engine, with a status line for long builds, the --timeout deadline, and the
    --no-cache build directory removed however the run ends."""
    from reviewtool.review import run

    with _progress() as progress, _deadline(timeout), _scratch(options.build, no_cache):
        if options.build is not None:
            build = dataclasses.replace(options.build, progress=progress)
            options = dataclasses.replace(options, build=build)
        return run(sources, options)


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
    *,
    work_dir: Path | None = None,
) -> BuildOptions:
    from reviewtool.kbuild.builder import BuildOptions

    names = tuple(n.strip() for value in (arch or []) for n in value.split(",") if n.strip())
    if sparse and shutil.which("sparse") is None:
        raise ToolchainError("--sparse: sparse is not installed (Debian package sparse)")
    cache = (cache_dir or _default_cache()).absolute()  # make runs in the cache: no relative
    if no_cache:  # removed by _scratch() when the run ends
        cache = Path(tempfile.mkdtemp(prefix="reviewtool-build-", dir=work_dir))
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
    try:
        yield
    finally:
        if no_cache and options is not None and options.cache_dir is not None:
            shutil.rmtree(options.cache_dir, ignore_errors=True)


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
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

    def expire(signum: int, frame: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise proc.expired()

    previous = signal.signal(signal.SIGALRM, expire) if alarm else None
    if alarm:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with proc.deadline(seconds):
            yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _size(text: str) -> int:
    """--max-input-size: bytes, or a number with a K, M or G (binary) suffix."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = (value[:-1], value[-1]) if value[-1:] in units else (value, "")
    try:
        size = int(float(number) * units[unit])
    except ValueError:
        raise InputError(f"--max-input-size {text}: not a size (e.g. 64M)") from None
    if size <= 0:
        raise InputError(f"--max-input-size {text}: must be positive")
    return size


def _check_work_dir(work_dir: Path | None) -> None:
    if work_dir is not None and not work_dir.is_dir():
        raise InputError(f"--work-dir {work_dir}: not a directory")


def _finish(
    report: Report,
    output_format: OutputFormat,
    output: Path | None,
    fail_on: FailOn,
    report_url: str | None = None,
    email: RenderOptions | None = None,
) -> int:
    from reviewtool.findings import Severity
    from reviewtool.render import RenderOptions, render

    rich = output is None and output_format is OutputFormat.text and sys.stdout.isatty()
    width = _terminal_width() if rich else 100
    options = RenderOptions(rich=rich, width=width, report_url=report_url)
    if output_format is OutputFormat.email:
        options = _email_defaults(email or options, options)
    text = render(report, output_format.value, options)
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
    series: Annotated[
        list[str] | None,
        typer.Option(
            help="The series the shards audited (as for audit); needed by every format but "
            "json, which re-reads it to render the merged report.",
            show_default=False,
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.json,
    output: OutputOption = None,
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit 1 when a merged finding is at or above this severity.")
    ] = FailOn.error,
    report_url: ReportUrlOption = None,
    reply_to: ReplyToOption = ReplyTo.cover,
    email_from: EmailFromOption = None,
    email_clean: EmailCleanOption = False,
    max_input_size: MaxInputSizeOption = DEFAULT_MAX_INPUT_SIZE,
) -> int:
    """Merge the reports of one series built in shards (one per --arch) into one report.

    JSON by default; with --series, any format (one Markdown comment, SARIF, an email reply)
    of the merged findings and build matrix.
    """
    from reviewtool.integrations.merge import merge_reports, merged_report

    merged = merge_reports(reports)
    sources = _sources(series, _size(max_input_size)) if series else None
    if output_format is OutputFormat.json:  # the merged shards as they are, tree audit included
        import json

        if sources is not None:
            merged_report(merged, sources)  # only to check it is the series given

        _emit(json.dumps(merged, indent=2, sort_keys=True, ensure_ascii=False) + "\n", output)
        if fail_on is FailOn.never:
            return ExitCode.OK
        ranks = {"error": 3, "warning": 2, "note": 1}
        worst = max((ranks[f["severity"]] for f in merged["findings"]), default=0)
        return ExitCode.FINDINGS if worst >= ranks[fail_on.value] else ExitCode.OK
    if sources is None:
        raise InputError(f"merge --format {output_format.value} needs --series SERIES")
    report = merged_report(merged, sources)
    email = _email_options(reply_to, email_from, email_clean, None)
    return _finish(report, output_format, output, fail_on, report_url, email)


@app.command()
def rules() -> int:
    """List the rules reviewtool checks, with their default severity."""
    from reviewtool.analysis.checks import RULES

    for rule in RULES.values():
        typer.echo(f"{rule.id:<30} {rule.severity.value:<8} {rule.summary}")
    return ExitCode.OK


class CheckFormat(str, Enum):
    terse = "terse"
    b4_check = "b4-check"


@app.command("check-patch")
def check_patch(
    message: Annotated[
        str,
        typer.Argument(
            help="One patch email (a file, or - for stdin), as b4's check commands get it."
        ),
    ] = "-",
    output_format: Annotated[
        CheckFormat,
        typer.Option(
            "--format",
            "-f",
            help="terse: checkpatch's --terse lines (`-:LINE: LEVEL: message`); b4-check: "
            "b4 review's JSON check results.",
        ),
    ] = CheckFormat.terse,
    showfile: Annotated[
        bool,
        typer.Option(
            "--showfile", help="terse: name findings in files by path and post-image line."
        ),
    ] = False,
    fail_on: FailOnOption = FailOn.error,
    series: Annotated[
        bool,
        typer.Option(
            "--series",
            help="The message is a cover letter: audit the thread b4 saved for it "
            "($B4_TRACKING_FILE, for review-series-check-cmd), else the message alone.",
        ),
    ] = False,
    tree: Annotated[
        Path | None,
        typer.Option(
            help="A kernel git tree: also apply the patch and audit call sites (b4 runs "
            "checks in the git toplevel, so `--tree .` is that tree).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(help="With --tree: apply on this revision.", show_default=False),
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option(help="With --tree: contract rule to audit, repeatable.", show_default=False),
    ] = None,
    timeout: TimeoutOption = None,
    max_input_size: MaxInputSizeOption = DEFAULT_MAX_INPUT_SIZE,
    work_dir: WorkDirOption = None,
) -> int:
    """Check one patch email for b4: series checks on it as a one-patch series.

    Output is checkpatch's --terse form (b4.am-perpatch-check-cmd,
    b4.prep-perpatch-check-cmd) or b4 review's JSON (--format b4-check,
    b4.review-perpatch-check-cmd and, with --series, b4.review-series-check-cmd).
    """
    from reviewtool.findings import Severity
    from reviewtool.intake.mail import Source, check_size, read_bounded
    from reviewtool.integrations.b4check import CheckOptions, read_message
    from reviewtool.integrations.b4check import check_patch as run_check

    if (base or rule) and tree is None:
        raise InputError("--base and --rule need --tree")
    tree_options = None
    if tree is not None:
        from reviewtool.analysis.treeaudit import TreeOptions

        tree_options = TreeOptions(
            tree=tree,
            base=base,
            rules=tuple(rule or ()),
            cache_dir=_default_cache(),
            work_dir=work_dir,
        )
    tracking = os.environ.get("B4_TRACKING_FILE")
    options = CheckOptions(
        tree=tree_options,
        series=series,
        tracking_file=Path(tracking) if tracking else None,
        git_dir=Path.cwd(),
    )
    name = "<stdin>" if message == "-" else message
    try:
        _check_work_dir(work_dir)
        limit = _size(max_input_size)
        if message == "-":
            data = read_bounded(sys.stdin.buffer, name, limit)
        else:
            check_size(Source(name=name, path=Path(message)), limit)
            data = read_message(Path(message))
        with _deadline(timeout):
            check = run_check(data, name, options)
    except ReviewtoolError as error:  # bad input, toolchain, --timeout
        if output_format is not CheckFormat.b4_check:
            raise
        from reviewtool.render import b4check

        # b4 shows a result it can read better than an exit code with stderr.
        _emit(b4check.error_result(f"reviewtool: {error.message}"), None)
        return ExitCode.OK
    if output_format is CheckFormat.b4_check:
        from reviewtool.render import b4check

        _emit(b4check.render(check), None)
        return ExitCode.OK  # b4 reads the status from the JSON
    from reviewtool.render import terse

    _emit(terse.render(check, showfile=showfile), None)
    if fail_on is FailOn.never:
        return ExitCode.OK
    failed = check.report.worst_at_least(Severity(fail_on.value))
    return ExitCode.FINDINGS if failed else ExitCode.OK


def _list_rules() -> int:
    from reviewtool.analysis.rules import load_rule, rule_names

    for name in rule_names():
        contract = load_rule(name)
        typer.echo(f"{contract.id:<30} {contract.title}")
    return ExitCode.OK


# --- reviewtool bot: fetch a thread from public-inbox, send replies by SMTP ----------------
bot_app = typer.Typer(
    help="A CI bot on a mailing list: fetch series from a public-inbox archive, send replies.",
    no_args_is_help=True,
)
app.add_typer(bot_app, name="bot")


@bot_app.command("fetch")
def bot_fetch(
    message_id: Annotated[
        str,
        typer.Argument(metavar="MSGID", help="Any Message-Id of the thread, with or without <>."),
    ],
    inbox: Annotated[
        str,
        typer.Option(
            "--inbox", help="The public-inbox archive URL (https://lore.kernel.org/all/)."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the thread's mbox to FILE instead of stdout.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the connection and each read.", min=0.001)
    ] = 30.0,
    max_input_size: MaxInputSizeOption = DEFAULT_MAX_INPUT_SIZE,
) -> int:
    """Fetch the thread holding MSGID (`<inbox>/<msgid>/t.mbox.gz`) as an mboxrd."""
    from reviewtool.integrations.inbox import fetch_thread

    limit = _size(max_input_size)
    thread = fetch_thread(
        inbox, message_id, timeout=timeout, **({} if limit is None else {"max_bytes": limit})
    )
    _emit_bytes(thread.mbox, output)
    return ExitCode.OK


@bot_app.command("reply")
def bot_reply(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="Replies written by --format email (one message, or an mbox of several).",
            show_default=False,
        ),
    ],
    smtp: Annotated[
        str | None,
        typer.Option(help="The SMTP server, HOST[:PORT] (port 25 by default).", show_default=False),
    ] = None,
    starttls: Annotated[bool, typer.Option(help="Switch to TLS with STARTTLS.")] = False,
    user: Annotated[
        str | None,
        typer.Option(
            help="Log in as USER; the password is read from $REVIEWTOOL_SMTP_PASSWORD.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Print the envelopes and messages instead of sending.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the server at each step.", min=0.001)
    ] = 60.0,
) -> int:
    """Send the replies FILE... by SMTP: envelope sender From:, recipients To, Cc and Bcc.

    An empty FILE (a clean audit) sends nothing.
    """
    from reviewtool.integrations import smtp as smtp_module

    messages = []
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as error:
            raise InputError(f"{file}: cannot read: {error.strerror}") from error
        messages += smtp_module.read_messages(str(file), data)
    if dry_run:
        for message in messages:
            typer.echo(f"MAIL FROM:<{message.sender}>")
            for recipient in message.recipients:
                typer.echo(f"RCPT TO:<{recipient}>")
            typer.echo(message.data.decode("utf-8", "replace").replace("\r\n", "\n"))
        return ExitCode.OK
    if smtp is None:
        raise InputError("missing --smtp HOST[:PORT] (or --dry-run)")
    host, port = smtp_module.parse_server(smtp)
    password = os.environ.get("REVIEWTOOL_SMTP_PASSWORD", "")
    if user and not password:
        raise InputError("--user needs the password in $REVIEWTOOL_SMTP_PASSWORD")
    options = smtp_module.SmtpOptions(
        host=host, port=port, starttls=starttls, user=user or "", password=password, timeout=timeout
    )
    for sent in smtp_module.send(messages, options):
        for recipient, answer in sent.refused.items():
            sys.stderr.write(
                f"reviewtool: warning: {sent.message.name}: {recipient} refused: {answer}\n"
            )
        delivered = len(sent.message.recipients) - len(sent.refused)
        typer.echo(f"sent {sent.message.message_id} to {delivered} recipients")
    return ExitCode.OK


def _inbox_sources(inbox: str, message_ids: list[str], max_size: int | None) -> list[Source]:
    """The threads of message_ids fetched from the archive, one source each."""
    from reviewtool.intake.mail import Source
    from reviewtool.integrations.inbox import fetch_thread

    sources = []
    for message_id in message_ids:
        if message_id == "-":
            raise InputError("--inbox: SERIES are Message-Ids, not - (stdin)")
        limit = {} if max_size is None else {"max_bytes": max_size}
        thread = fetch_thread(inbox, message_id, **limit)
        sources.append(Source(name=thread.url, data=thread.mbox))
    return sources


def _email_options(
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
    from reviewtool.proc import run

    values = []
    for key in ("user.name", "user.email"):
        result = run(["git", "config", "--get", key], check=False)
        values.append(result.stdout.decode("utf-8", "replace").strip())
    name, address = values
    if not address:
        raise InputError("--format email needs --email-from (or git config user.email)")
    return f"{name} <{address}>" if name else address


def _emit_bytes(data: bytes, output: Path | None) -> None:
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


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reviewtool"


def _sources(arguments: list[str], max_size: int | None = None) -> list[Source]:
    """The inputs; with max_size, each is refused before it is read when larger."""
    from reviewtool.intake.mail import Source, check_size, read_bounded

    if arguments.count("-") > 1:
        raise InputError("stdin (-) can be given only once")
    sources: list[Source] = []
    for argument in arguments:
        if argument == "-":
            data = read_bounded(sys.stdin.buffer, "<stdin>", max_size)
            sources.append(Source(name="<stdin>", data=data))
        else:
            sources.append(Source(name=argument, path=Path(argument)))
            check_size(sources[-1], max_size)
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
    _emit_bytes(text.encode("utf-8"), output)


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
