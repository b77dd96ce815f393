"""`reviewtool build`: cross-build every patch of a series."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reviewtool.cli import common
from reviewtool.cli.options import (
    DEFAULT_MAX_INPUT_SIZE,
    FailOn,
    FailOnOption,
    FormatOption,
    MaxInputSizeOption,
    OutputFormat,
    OutputOption,
    ReportUrlOption,
    TimeoutOption,
    Toolchain,
    WorkDirOption,
)


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

    sources = common.sources(series, common.parse_size(max_input_size))
    common.check_work_dir(work_dir)
    if output is not None:
        common.refuse_overwriting_input(output, sources)
    options = common.build_options(
        tree, base, arch, jobs, toolchain, cache_dir, no_cache, sparse, work_dir=work_dir
    )
    report = common.run(sources, AuditOptions(build=options, checks=False), timeout, no_cache)
    return common.finish(report, output_format, output, fail_on, report_url)
