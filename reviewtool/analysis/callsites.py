"""The call-site audit: every call of a watched API, tree-wide, with the cases that reach it and
a verdict, computed for one tree state at a time (the base, then after each patch).

Only files that mention a name the rule gives meaning to are read and parsed; functions that
mention none are skipped. Two kinds of function summaries are iterated to a fixpoint:
requirements (a parameter-rooted value reaches a forbidden use: callers, found with `git grep`,
are checked against it) and result summaries (what the function's return value says about its
arguments, used where callers test it).

Each verdict names the kind of reason it rests on (`guard`, `callee-result`, `caller`,
`origin`, `config`, `no-case`; `unparsed` for calls the parse lost), and unhandled sites are
grouped by root cause: the value's origin (a pte load in some function) that reaches the
forbidden uses. One cause is one finding.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Generic, TypeVar

from reviewtool.analysis.csource import ParsedFile, names_pattern, parse_file
from reviewtool.analysis.dataflow import FunctionAnalysis
from reviewtool.analysis.returns import ResultSummary, summarise
from reviewtool.analysis.rules import ContractRule
from reviewtool.analysis.sites import Requirement, SiteRecord
from reviewtool.analysis.structs import StructTable
from reviewtool.analysis.typeinfo import CType
from reviewtool.analysis.values import Event, Value
from reviewtool.analysis.verdicts import (
    CallSite,
    Cause,
    FunctionResult,
    Verdicts,
    site_id,
)
from reviewtool.kbuild.kconfig import Kconfig

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

_MAX_ROUNDS = 6


@dataclass(frozen=True)
class Unparsed:
    path: str
    line: int
    api: str
    reason: str


@dataclass(frozen=True)
class Coverage:
    textual: int
    parsed: int
    unparsed: tuple[Unparsed, ...] = ()

    @property
    def ratio(self) -> float:
        return self.parsed / self.textual if self.textual else 1.0


@dataclass(frozen=True)
class StateAudit:
    """The audit of one tree state."""

    live_cases: frozenset[str]
    sites: tuple[CallSite, ...]
    coverage: Coverage
    files: int
    causes: tuple[Cause, ...] = ()

    def by_id(self) -> dict[str, CallSite]:
        return {site.id: site for site in self.sites}


@dataclass
class Context:
    """Per-run caches shared across tree states and rules: parsed files and headers by blob
    id, analyses by rule and function text, struct members."""

    parsed: dict[str, ParsedFile] = field(default_factory=dict)
    analysed: dict[
        tuple[object, ...],
        tuple[tuple[int, int], list[SiteRecord], ResultSummary | None],
    ] = field(default_factory=dict)
    headers: dict[str, tuple[frozenset[str], tuple[tuple[str, str], ...]]] = field(
        default_factory=dict
    )
    structs: dict[str, tuple[dict[str, CType], tuple[tuple[str, str], ...]]] = field(
        default_factory=dict
    )
    kconfig: dict[tuple[str, ...], Kconfig] = field(default_factory=dict)


FileReader = Callable[[str], tuple[str, bytes] | None]  # path -> (blob id, content)


class Auditor:
    """Audits tree states against one rule; keeps parse and analysis caches across states."""

    def __init__(self, rule: ContractRule, context: Context | None = None) -> None:
        self.rule = rule
        self.context = context if context is not None else Context()

    def audit(
        self,
        files: Iterable[str],
        read: FileReader,
        find_callers: Callable[[set[str]], set[str]],
        kconfig: Kconfig | None = None,
    ) -> StateAudit:
        """Audit a state: `files` mention the rule's names; `find_callers` greps more names."""
        rule = self.rule
        parsed = self._parse_all(sorted(set(files)), read)
        live = self._live_cases(parsed)
        structs = StructTable(read, self.context.headers, known=self.context.structs)
        requirements: dict[str, tuple[Requirement, ...]] = {}
        results: dict[str, ResultSummary] = {}
        analysed: list[FunctionResult] = []
        searched: set[str] = set(rule.names)
        for _ in range(_MAX_ROUNDS):
            analysed = self._analyse(parsed, live, requirements, results, structs)
            new_requirements = _requirements(analysed)
            new_results = _results(analysed)
            if new_requirements == requirements and new_results == results:
                break
            requirements, results = new_requirements, new_results
            # A static function of a .c file is called from its own file only: no search.
            wanted = {name for name in requirements if "::" not in name} - searched
            if wanted:
                searched |= wanted
                extra = find_callers(wanted) - set(parsed)
                parsed.update(self._parse_all(sorted(extra), read))
        verdicts = Verdicts(rule, live, analysed, requirements, parsed, kconfig)
        sites = verdicts.sites()
        coverage = self._coverage(parsed, analysed)
        sites += self._unparsed_sites(coverage)
        ordered = tuple(sorted(sites, key=lambda s: (s.path, s.line, s.column)))
        return StateAudit(live, ordered, coverage, len(parsed), verdicts.causes(ordered))

    # -- parsing ----------------------------------------------------------------------------

    def _parse_blob(self, blob: str, path: str, content: bytes) -> ParsedFile:
        cached = self.context.parsed.get(blob)
        if cached is None or cached.path != path:
            cached = parse_file(path, content)
            self.context.parsed[blob] = cached
        return cached

    def _parse_all(self, paths: list[str], read: FileReader) -> dict[str, ParsedFile]:
        parsed: dict[str, ParsedFile] = {}
        for path in paths:
            found = read(path)
            if found is None:
                continue
            blob, content = found
            parsed[path] = self._parse_blob(blob, path, content)
        return parsed

    def _live_cases(self, parsed: Mapping[str, ParsedFile]) -> frozenset[str]:
        live = set()
        for case in self.rule.cases.values():
            if not case.exists_if:
                live.add(case.name)
                continue
            pattern = names_pattern(frozenset(case.exists_if))
            if any(f.mentions(pattern) for f in parsed.values()):
                live.add(case.name)
        return frozenset(live)

    # -- analysis ---------------------------------------------------------------------------

    def _analyse(
        self,
        parsed: Mapping[str, ParsedFile],
        live: frozenset[str],
        requirements: Mapping[str, tuple[Requirement, ...]],
        results: Mapping[str, ResultSummary],
        structs: StructTable,
    ) -> list[FunctionResult]:
        own = frozenset(self.rule.file_names | set(self.rule.results))
        uses = frozenset(self.rule.watch) | frozenset(self.rule.forbidden)
        analysed: list[FunctionResult] = []
        visible_requirements = _Visibility(requirements)
        visible_results = _Visibility(results)
        current = {_identity(r): r for group in requirements.values() for r in group}
        for path, parsed_file in parsed.items():
            local = visible_requirements.of(path)
            local_results = visible_results.of(path)
            # the functions that call a name the rule knows, or a summarised function this
            # file's calls can resolve to
            names = frozenset(own | local.keys() | local_results.keys())
            for entry in parsed_file.calling(self.rule.file_names, names):
                function, digest, calls = entry.function, entry.digest, entry.calls
                node = function.node
                body = node.child_by_field_name("body")
                if body is None:
                    continue
                called = sorted(local.keys() & calls)
                if not called and not calls & uses and not parsed_file.returns_values(node):
                    continue  # no use to record and no result to summarise
                called_results = sorted((local_results.keys() & calls) - {function.name})
                cache_key = (
                    self.rule.id,
                    path,
                    digest,
                    live,
                    tuple((n, tuple(map(_identity, local[n]))) for n in called),
                    tuple((n, local_results[n]) for n in called_results),
                )
                start = (node.start_point[0], node.start_byte)
                cached = self.context.analysed.get(cache_key)
                if cached is not None:
                    (old_line, old_byte), old_sites, summary = cached
                    sites = _shifted(old_sites, start[0] - old_line, start[1] - old_byte)
                    sites = _current_requirements(sites, current)
                else:
                    analysis = FunctionAnalysis(
                        self.rule,
                        live,
                        {n: local[n] for n in called},
                        function.name,
                        path,
                        node,
                        functools.partial(_struct_lookup, structs, path),
                        {n: local_results[n] for n in called_results},
                    )
                    analysis.run(body)
                    sites = list(analysis.recorder.sites.values())
                    summary = None
                    if analysis.returns:
                        candidate = summarise(
                            function.name, path, analysis.parameters, analysis.returns
                        )
                        summary = candidate if candidate.informative else None
                    self.context.analysed[cache_key] = (start, sites, summary)
                analysed.append(
                    FunctionResult(path, function.name, function.static, sites, digest, summary)
                )
        return analysed

    # -- coverage ---------------------------------------------------------------------------

    def _coverage(
        self, parsed: Mapping[str, ParsedFile], results: list[FunctionResult]
    ) -> Coverage:
        watched = set(self.rule.watch)
        found = {(r.path, s.line, s.api) for r in results for s in r.sites if s.api in watched}
        textual = 0
        parsed_count = 0
        unparsed: list[Unparsed] = []
        for path, parsed_file in parsed.items():
            for call in parsed_file.calls(self.rule.file_names):
                if call.name not in watched:
                    continue
                textual += 1
                if (path, call.line, call.name) in found:
                    parsed_count += 1
                    continue
                reason = (
                    "inside a macro definition"
                    if call.in_macro
                    else "the enclosing function could not be parsed"
                )
                unparsed.append(Unparsed(path, call.line, call.name, reason))
        return Coverage(textual, parsed_count, tuple(unparsed))

    def _unparsed_sites(self, coverage: Coverage) -> list[CallSite]:
        sites = []
        counts: dict[tuple[str, str], int] = {}
        for item in coverage.unparsed:
            counts[(item.path, item.api)] = counts.get((item.path, item.api), 0) + 1
            sites.append(
                CallSite(
                    id=site_id(
                        self.rule.id,
                        item.path,
                        "",
                        item.api,
                        f"line-{counts[(item.path, item.api)]}",
                        0,
                    ),
                    path=item.path,
                    line=item.line,
                    column=0,
                    function="",
                    api=item.api,
                    argument="",
                    cases=(),
                    verdict="unknown",
                    how=f"not analysed: {item.reason}",
                    reason="unparsed",
                )
            )
        return sites


def _struct_lookup(structs: StructTable, path: str, name: str) -> dict[str, CType] | None:
    return structs.lookup(name, path)


def _identity(requirement: Requirement) -> tuple[object, ...]:
    """A requirement without the line of its use, which moves when the callee's file changes."""
    return (
        requirement.function,
        requirement.parameters,
        requirement.path,
        requirement.cases,
        requirement.api,
        requirement.file,
        requirement.kind,
    )


def _current_requirements(
    sites: list[SiteRecord], current: Mapping[tuple[object, ...], Requirement]
) -> list[SiteRecord]:
    """Point reused sites at this state's requirements (same identity, current use line)."""
    if not any(site.requirement is not None for site in sites):
        return sites
    result = []
    for original in sites:
        site = original
        if site.requirement is not None:
            site = replace(
                site, requirement=current.get(_identity(site.requirement), site.requirement)
            )
        result.append(site)
    return result


def _shifted(sites: list[SiteRecord], lines: int, offset: int) -> list[SiteRecord]:
    """The same analysis for the same function text placed `lines` lower in its file."""
    if not lines and not offset:
        return sites
    return [
        replace(
            site,
            byte=site.byte + offset,
            line=site.line + lines,
            value=_shift_value(site.value, lines),
            violation=_shift_value(site.violation, lines),
            outcomes={
                path: replace(outcome, value=_shift_value(outcome.value, lines))
                for path, outcome in site.outcomes.items()
            },
        )
        for site in sites
    ]


def _shift_value(value: Value | None, lines: int) -> Value | None:
    if value is None:
        return None
    root = value.root
    return replace(
        value,
        trail=tuple(replace(e, line=e.line + lines) for e in value.trail),
        excluded=tuple((c, replace(e, line=e.line + lines)) for c, e in value.excluded),
        root=replace(root, line=root.line + lines) if root is not None else None,
    )


_S = TypeVar("_S", tuple[Requirement, ...], ResultSummary)


def _requirements(results: list[FunctionResult]) -> dict[str, tuple[Requirement, ...]]:
    summaries: dict[str, set[Requirement]] = {}
    for result in results:
        for site in result.sites:
            root = site.parameter_root
            if not site.violating or root is None or site.violation is None:
                continue
            use = Event(site.line, site.argument, site.api)
            api = site.requirement.api if site.requirement else site.api
            summaries.setdefault(_summary_key(result), set()).add(
                Requirement(
                    function=result.name,
                    parameters=root.parameters,
                    path=root.key,
                    cases=site.violating,
                    use=use,
                    api=api,
                    file=result.path,
                    kind=root.kind,
                )
            )
    return {
        k: tuple(sorted(v, key=lambda r: (r.parameters, r.path, r.use.line)))
        for k, v in summaries.items()
    }


def _results(analysed: list[FunctionResult]) -> dict[str, ResultSummary]:
    return {_summary_key(r): r.results for r in analysed if r.results is not None}


def _summary_key(result: FunctionResult) -> str:
    """Static functions in .c files are visible in their file only."""
    if result.static and result.path.endswith(".c"):
        return f"{result.path}::{result.name}"
    return result.name


class _Visibility(Generic[_S]):
    """The summaries a file's calls can resolve to: a static function's in its own file only,
    and a function defined under arch/<arch>/ not from another architecture's code."""

    def __init__(self, summaries: Mapping[str, _S]) -> None:
        self.static: dict[str, dict[str, _S]] = {}
        self.shared: dict[str, _S] = {}
        for key, value in summaries.items():
            if "::" in key:
                file, name = key.split("::", 1)
                self.static.setdefault(file, {})[name] = value
            else:
                self.shared[key] = value
        self.by_arch: dict[str, dict[str, _S]] = {}

    def of(self, path: str) -> dict[str, _S]:
        arch = _arch(path)
        shared = self.by_arch.get(arch)
        if shared is None:
            shared = self.by_arch[arch] = self._for_arch(arch)
        static = self.static.get(path)
        return {**shared, **static} if static else shared

    def _for_arch(self, arch: str) -> dict[str, _S]:
        if not arch:
            return self.shared
        visible: dict[str, _S] = {}
        for key, value in self.shared.items():
            if isinstance(value, tuple):
                kept = tuple(r for r in value if _arch(r.file) in ("", arch))
                if kept:
                    visible[key] = kept  # type: ignore[assignment]
            elif isinstance(value, ResultSummary) and _arch(value.file) in ("", arch):
                visible[key] = value
        return visible


def _arch(path: str) -> str:
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "arch" else ""
