"""The choices and typer option types that several commands share.

Options that git config can also set (the Configured* ones) default to None and are resolved
by each command: the command line beats `git config reviewtool.*`, which beats the built-in
default.
"""

from __future__ import annotations

import contextlib
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from reviewtool.findings import Severity

DEFAULT_MAX_INPUT_SIZE = "64M"


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

    @property
    def severity(self) -> Severity | None:
        """The lowest severity that fails the run; None for never."""
        return None if self is FailOn.never else Severity(self.value)


# --format email and the CI bot (`reviewtool bot`): how to reply.
class ReplyTo(str, Enum):
    cover = "cover"
    patch = "patch"


# check-patch: the forms b4's check commands read.
class CheckFormat(str, Enum):
    terse = "terse"
    b4_check = "b4-check"


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
MAX_TIMEOUT = 10_000_000.0  # seconds (about 16 weeks): what the system timers can hold
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="Stop after SECONDS of wall time, killing every command still running (exit 124).",
        min=0.001,
        max=MAX_TIMEOUT,
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

# --format email and the CI bot: where the series comes from, how to reply.
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

# audit, check and the sendemail-validate hook: options git config can also set.
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
SeriesArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="The series: an mbox/mboxrd file, a maildir, a directory or list of "
        "git format-patch files, or - for stdin.",
        show_default=False,
    ),
]
BaseOption = Annotated[
    str | None,
    typer.Option(
        help="Apply on this revision of --tree (default: the series' base-commit: when "
        "the tree has it, else HEAD).",
        show_default=False,
    ),
]
InferOption = Annotated[
    bool,
    typer.Option(
        "--infer/--no-infer",
        help="With --tree: infer the return contracts the series changes (a function that "
        "now returns ERR_PTR() where it returned NULL, a new errno, int to bool) and audit "
        "their callers, beside the contract rules.",
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


class Group(TyperGroup):
    """A command group whose bare invocation (`reviewtool bot`) prints its help on stderr:
    click builds the help while raising NoArgsIsHelpError (exit 2), and typer's rich help
    prints itself as it is built, on stdout, which carries reports only."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click.Context (vendored)
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            with contextlib.redirect_stdout(sys.stderr):
                return super().parse_args(ctx, args)
        return super().parse_args(ctx, args)
