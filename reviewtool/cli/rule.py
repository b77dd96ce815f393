"""`reviewtool rule infer`: the return contracts a series changes, as a rule file a user can
edit and pass back with `reviewtool audit --rule FILE`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from reviewtool.cli import common
from reviewtool.cli.options import (
    DEFAULT_MAX_INPUT_SIZE,
    BaseOption,
    Group,
    MaxInputSizeOption,
    OutputOption,
    SeriesArgument,
    TimeoutOption,
    WorkDirOption,
)
from reviewtool.errors import ExitCode, InputError

rule_app = typer.Typer(
    help="Contract rules: infer them from a series.",
    no_args_is_help=True,
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@rule_app.command("infer")
def infer(
    series: SeriesArgument = None,
    tree: Annotated[
        Path | None,
        typer.Option(
            help="The kernel git tree to apply the series to (required).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    base: BaseOption = None,
    output: OutputOption = None,
    revision: Annotated[
        int | None,
        typer.Option(
            help="Use revision N when the input holds several (default: newest).",
            min=1,
            show_default=False,
        ),
    ] = None,
    timeout: TimeoutOption = None,
    max_input_size: MaxInputSizeOption = DEFAULT_MAX_INPUT_SIZE,
    work_dir: WorkDirOption = None,
) -> int:
    """Write the return contracts the series changes as a rule file (TOML), for
    `reviewtool audit SERIES --tree T --rule FILE` after editing it. Prints nothing (and says
    so on stderr) when no patch changes a return contract; a patch that does not apply is a
    warning on stderr and exit 1."""
    from reviewtool.analysis.inference import change_text
    from reviewtool.analysis.returnrules import to_toml
    from reviewtool.analysis.treeaudit import TreeOptions, infer_series
    from reviewtool.cli.progressbar import progress_bar
    from reviewtool.intake.mail import read_sources
    from reviewtool.intake.series import build_series

    if not series:
        raise InputError("missing SERIES (an mbox, maildir, patch files or -)")
    if tree is None:
        raise InputError("--tree is required: the contracts are read from the tree")
    sources = common.sources(series, common.parse_size(max_input_size))
    common.check_work_dir(work_dir)
    if output is not None:
        common.refuse_overwriting_input(output, sources)
    options = TreeOptions(tree=tree, base=base, work_dir=work_dir)
    with progress_bar(common.QUIET) as progress, common.deadline(timeout):
        parsed = build_series(read_sources(sources), revision=revision)
        contracts, state = infer_series(parsed, options, progress)
    failures = [(a.number, f) for a in state.applied for f in a.failures]
    for number, failure in failures:
        line = f"patch {number} does not apply: {failure.describe()} (not read)"
        sys.stderr.write(f"reviewtool: warning: {common.one_line(line)}\n")
    if not contracts:
        what = "that applied " if failures else ""
        typer.echo(f"reviewtool: no patch {what}of the series changes a return contract", err=True)
    else:
        changes = "; ".join(change_text(c) for c in contracts)
        common.emit(to_toml(contracts, changes), output)
    return ExitCode.FINDINGS if failures else ExitCode.OK
