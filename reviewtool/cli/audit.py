"""`reviewtool audit` and `reviewtool rules`: audit a series given as files, stdin or
Message-Ids of a public-inbox archive, and list the rules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reviewtool.cli import common
from reviewtool.cli.options import (
    DEFAULT_MAX_INPUT_SIZE,
    BaseOption,
    ConfiguredFailOnOption,
    ConfiguredFormatOption,
    EmailCleanOption,
    EmailFromOption,
    FailOn,
    InboxOption,
    InferOption,
    JobsOption,
    MaxInputSizeOption,
    NoCacheOption,
    OutputFormat,
    OutputOption,
    ReplyTo,
    ReplyToOption,
    ReportUrlOption,
    SeriesArgument,
    TimeoutOption,
    Toolchain,
    WorkDirOption,
)
from reviewtool.errors import ExitCode, InputError
from reviewtool.findings import RuleKind

if TYPE_CHECKING:
    from reviewtool.config import Settings
    from reviewtool.intake.mail import Source


def audit(
    series: SeriesArgument = None,
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
    base: BaseOption = None,
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
    infer: InferOption = True,
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
    output_format = common.enum_setting(OutputFormat, output_format, settings.format, "text")
    fail_on = common.enum_setting(FailOn, fail_on, settings.fail_on, "error")
    cache_dir = cache_dir or settings.cache_dir
    email_from = email_from or settings.email_from
    if inbox is not None:
        sources = _inbox_sources(inbox, series, common.parse_size(max_input_size))
    else:
        sources = common.sources(series, common.parse_size(max_input_size))
    common.check_work_dir(work_dir)
    if output is not None:
        common.refuse_overwriting_input(output, sources)
    tree_options = None
    if tree is not None:
        from reviewtool.analysis.treeaudit import TreeOptions

        tree_options = TreeOptions(
            tree=tree,
            base=base,
            strict_apply=strict_apply,
            rules=tuple(rule or ()),
            cache_dir=None if no_cache else (cache_dir or common.default_cache()),
            work_dir=work_dir,
            infer=infer,
        )
    elif base or rule or strict_apply or build:
        raise InputError("--base, --rule, --strict-apply and --build need --tree")
    build_options = None
    if build and tree is not None:
        build_options = common.build_options(
            tree, base, arch, jobs, toolchain, cache_dir, no_cache, work_dir=work_dir
        )
    options = AuditOptions(
        revision=revision, keep_going=keep_going, tree=tree_options, build=build_options
    )
    report = common.run(sources, options, timeout, no_cache)
    email = common.email_options(reply_to, email_from, email_clean, inbox)
    return common.finish(report, output_format, output, fail_on, report_url, email)


def rules(
    kind: Annotated[
        list[RuleKind] | None,
        typer.Option("--kind", help="Only rules of this kind (repeatable)."),
    ] = None,
) -> int:
    """List the rules reviewtool checks: id, kind, default severity, summary."""
    from reviewtool.analysis.checks import RULES
    from reviewtool.analysis.rules import load_rule, rule_names
    from reviewtool.analysis.treeaudit import INFERRED_RULE, TREE_RULES, contract_rule
    from reviewtool.kbuild.builder import BUILD_RULE

    contracts = (*(contract_rule(load_rule(name)) for name in rule_names()), INFERRED_RULE)
    wanted = set(kind or RuleKind)
    for rule in (*RULES.values(), *TREE_RULES, *contracts, BUILD_RULE):
        if rule.kind in wanted:
            line = f"{rule.id:<30} {rule.kind.value:<8} {rule.severity.value:<8} {rule.summary}"
            typer.echo(line)
    return ExitCode.OK


def _list_rules() -> int:
    from reviewtool.analysis.rules import load_rule, rule_names

    for name in rule_names():
        contract = load_rule(name)
        typer.echo(f"{contract.id:<30} {contract.title}")
    return ExitCode.OK


def _settings(tree: Path | None) -> Settings:
    """git config reviewtool.* as it applies in the tree given, else where the command runs
    (outside a repository: the global and system configuration)."""
    from reviewtool import config

    where = tree if tree is not None and tree.is_dir() else Path.cwd()
    return config.load(where)


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
