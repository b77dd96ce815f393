"""`reviewtool check`: check a branch's commits before sending them; `reviewtool check-patch`:
check one patch email for b4's check commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from reviewtool.cli import common
from reviewtool.cli.options import (
    DEFAULT_MAX_INPUT_SIZE,
    CheckFormat,
    ConfiguredFailOnOption,
    ConfiguredFormatOption,
    ConfiguredRuleOption,
    ConfiguredTreeOption,
    FailOn,
    FailOnOption,
    InferOption,
    JobsOption,
    MaxInputSizeOption,
    NoCacheOption,
    OutputFormat,
    OutputOption,
    ReplyTo,
    RepoOption,
    TimeoutOption,
    Toolchain,
    WorkDirOption,
)
from reviewtool.errors import ExitCode, InputError, ReviewtoolError


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
    infer: InferOption = True,
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

    common.check_work_dir(work_dir)
    repository = gitrange.open_repository(repo or Path.cwd())
    settings = config.load(repository)
    chosen_format = common.enum_setting(OutputFormat, output_format, settings.format, "text")
    threshold = common.enum_setting(FailOn, fail_on, settings.fail_on, "error")
    chosen_toolchain = common.enum_setting(Toolchain, toolchain, settings.toolchain, "auto")
    audit_tree = bool(common.configured(tree, settings.tree, True))
    wants_build = bool(common.configured(build, settings.build, False))
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
            cache_dir=None if no_cache else (cache or common.default_cache()),
            work_dir=work_dir,
            infer=infer,
        )
    build_options = None
    if wants_build and audit_tree:
        arches = list(arch or settings.arches)
        build_options = common.build_options(
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
    report = common.run([series.source], options, timeout, no_cache)
    email = common.email_options(ReplyTo.cover, settings.email_from, False, None)
    return common.finish(report, chosen_format, output, threshold, email=email)


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
            cache_dir=common.default_cache(),
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
        common.check_work_dir(work_dir)
        limit = common.parse_size(max_input_size)
        if message == "-":
            data = read_bounded(sys.stdin.buffer, name, limit)
        else:
            check_size(Source(name=name, path=Path(message)), limit)
            data = read_message(Path(message))
        with common.deadline(timeout):
            check = run_check(data, name, options)
    except ReviewtoolError as error:  # bad input, toolchain, --timeout
        if output_format is not CheckFormat.b4_check:
            raise
        from reviewtool.render import b4check

        # b4 shows a result it can read better than an exit code with stderr.
        common.emit(b4check.error_result(f"reviewtool: {error.message}"), None)
        return ExitCode.OK
    except Exception as error:  # a bug: b4 still gets its JSON, then main() reports it (exit 4)
        if output_format is CheckFormat.b4_check:
            from reviewtool.render import b4check

            kind = type(error).__name__
            common.emit(b4check.error_result(f"reviewtool: internal error: {kind}"), None)
        raise
    if output_format is CheckFormat.b4_check:
        from reviewtool.render import b4check

        common.emit(b4check.render(check), None)
        return ExitCode.OK  # b4 reads the status from the JSON
    from reviewtool.render import terse

    common.emit(terse.render(check, showfile=showfile), None)
    return common.exit_code(check.report.findings, fail_on)
