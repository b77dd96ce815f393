"""The engine's entry point: `run(sources, options)` is what the CLI, bots and tests call."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reviewtool.analysis.checks import RULES, check_series
from reviewtool.intake.mail import Source, read_sources
from reviewtool.intake.series import Series, build_series
from reviewtool.progress import NOTHING, Progress
from reviewtool.report import Report, make_report

if TYPE_CHECKING:
    from reviewtool.analysis.treeaudit import TreeOptions
    from reviewtool.git import AppliedSeries
    from reviewtool.kbuild.builder import BuildOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditOptions:
    """What `reviewtool audit` was asked to do."""

    revision: int | None = None
    keep_going: bool = False
    tree: TreeOptions | None = None
    build: BuildOptions | None = None
    checks: bool = True  # the series checks (off for `reviewtool build`)
    skip_rules: frozenset[str] = frozenset()  # series-check rule ids that cannot hold here
    progress: Progress = field(default=NOTHING, compare=False)  # long work reports here


def run(sources: Sequence[Source], options: AuditOptions) -> Report:
    """Read the series from sources, check it, and return the report."""
    mails = read_sources(sources)
    log.info("read %d messages", len(mails))
    series = build_series(mails, revision=options.revision, keep_going=options.keep_going)
    log.info("series v%d: %d of %d patches", series.revision, len(series.patches), series.expected)
    findings = check_series(series, skip=options.skip_rules) if options.checks else []
    log.info("series checks: %d findings", len(findings))
    rules = tuple(RULES.values())
    tree = builds = None
    with _applied_once(series, options) as applied:
        if options.tree is not None:
            from reviewtool.analysis.treeaudit import (
                TREE_RULES,
                audit_tree,
                contract_rule,
                return_rules,
                tree_findings,
            )

            tree = audit_tree(series, options.tree, applied, options.progress)
            findings += tree_findings(tree)
            rules += TREE_RULES + tuple(contract_rule(a.rule) for a in tree.audits)
            rules += return_rules(tree)
        if options.build is not None:
            from reviewtool.kbuild.builder import BUILD_RULE, build_findings
            from reviewtool.kbuild.builder import build_series as run_builds

            shared = options.tree is None or _same_tree(options.tree, options.build)
            builds = run_builds(
                series, options.build, options.progress, applied if shared else None
            )
            findings += build_findings(builds)
            rules += (BUILD_RULE,)
    return make_report(
        tuple(source.name for source in sources), series, findings, rules, tree, builds
    )


@contextlib.contextmanager
def _applied_once(series: Series, options: AuditOptions) -> Iterator[AppliedSeries | None]:
    """The series applied to the tree once for the whole run: the tree audit and the builds
    read the same private repository and the same commits (None: neither was asked for)."""
    tree, build = options.tree, options.build
    if tree is None and build is None:
        yield None
        return
    from reviewtool.git import AppliedSeries

    chosen = tree or build
    assert chosen is not None
    strict = tree.strict_apply if tree is not None else False
    with AppliedSeries(series, chosen, strict=strict, progress=options.progress) as applied:
        yield applied


def _same_tree(tree: TreeOptions, build: BuildOptions) -> bool:
    return (tree.tree.resolve(), tree.base) == (build.tree.resolve(), build.base)
