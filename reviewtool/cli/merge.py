"""`reviewtool merge`: merge the JSON reports of a series built in shards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reviewtool.cli import common
from reviewtool.cli.options import (
    DEFAULT_MAX_INPUT_SIZE,
    EmailCleanOption,
    EmailFromOption,
    FailOn,
    FormatOption,
    MaxInputSizeOption,
    OutputFormat,
    OutputOption,
    ReplyTo,
    ReplyToOption,
    ReportUrlOption,
)
from reviewtool.errors import InputError
from reviewtool.intake.mail import Source


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

    sources = common.sources(series, common.parse_size(max_input_size)) if series else None
    if output is not None:  # neither a report merged nor the series may be replaced
        common.refuse_overwriting_input(output, sources or [])
        inputs = [Source(str(path), path) for path in reports]
        common.refuse_overwriting_input(output, inputs, "report")
    merged = merge_reports(reports)
    if output_format is OutputFormat.json:  # the merged shards as they are, tree audit included
        import json

        from reviewtool.findings import finding_from_dict

        if sources is not None:
            merged_report(merged, sources)  # only to check it is the series given

        common.emit(json.dumps(merged, indent=2, sort_keys=True, ensure_ascii=False) + "\n", output)
        findings = [finding_from_dict(finding) for finding in merged["findings"]]
        return common.exit_code(findings, fail_on)
    if sources is None:
        raise InputError(f"merge --format {output_format.value} needs --series SERIES")
    report = merged_report(merged, sources)
    email = common.email_options(reply_to, email_from, email_clean, None)
    return common.finish(report, output_format, output, fail_on, report_url, email)
