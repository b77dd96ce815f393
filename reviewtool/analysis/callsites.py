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
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Generic, TypeVar

from reviewtool.analysis.csource import (
    Function,
    ParsedFile,
    StructTable,
    enclosing_function_text,
    parse_file,
    reparse_function,
)
from reviewtool.analysis.dataflow import FunctionAnalysis
from reviewtool.analysis.returns import ResultSummary, summarise
from reviewtool.analysis.rules import ContractRule, Forbidden
from reviewtool.analysis.sites import Outcome, Requirement, SiteRecord
from reviewtool.analysis.typeinfo import CType
from reviewtool.analysis.values import Event, Value
from reviewtool.findings import Location
from reviewtool.kbuild.kconfig import Kconfig

if TYPE_CHECKING:
    import tree_sitter

log = logging.getLogger(__name__)

_MAX_ROUNDS = 6
_CALLED = re.compile(rb"\b([A-Za-z_]\w*)\s*\(")

REASONS = ("guard", "callee-result", "caller", "origin", "config", "no-case", "unparsed")


@dataclass(frozen=True)
class CallSite:
    """A call of a watched API (or of a function that passes a value on to one) and its verdict."""

    id: str
    path: str
    line: int
    column: int
    function: str
    api: str
    argument: str
    cases: tuple[str, ...]
    verdict: str  # handled | unhandled | unknown | latent
    how: str
    evidence: tuple[Location, ...] = ()
    via: str = ""  # for a call of a summarised function: the forbidden use it leads to
    excerpt: tuple[Location, ...] = ()  # unhandled sites: the source lines around the call
    reason: str = ""  # the kind of reason the verdict rests on (REASONS)
    cause: str = ""  # unhandled and latent sites: the id of their root cause
    digest: str = ""  # the enclosing function's text, hashed


@dataclass(frozen=True)
class Cause:
    """One root cause: a value of a new case from one origin and every unhandled use it
    reaches. Reported once, at its anchor: the guard that lets the case through, else the
    first unguarded use."""

    id: str
    verdict: str  # unhandled | latent
    anchor: CallSite
    further: tuple[CallSite, ...]
    root: str  # "function() path:line: key", where the value comes from
    digest: str  # the texts of the functions it spans

    @property
    def sites(self) -> tuple[str, ...]:
        return (self.anchor.id, *(s.id for s in self.further))


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
class _FunctionResult:
    path: str
    name: str
    static: bool
    sites: list[SiteRecord]
    digest: str = ""
    results: ResultSummary | None = None


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


@dataclass(frozen=True)
class _Root:
    """Where a grounded violation's value comes from."""

    path: str
    function: str
    key: str
    line: int

    @property
    def id(self) -> str:
        return f"{self.path}\0{self.function}\0{self.key}"

    def describe(self) -> str:
        return f"`{self.key}` in {self.function}() ({self.path}:{self.line})"


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
        structs = StructTable(
            read, self._parse_blob, self.context.headers, known=self.context.structs
        )
        requirements: dict[str, tuple[Requirement, ...]] = {}
        results: dict[str, ResultSummary] = {}
        analysed: list[_FunctionResult] = []
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
        verdicts = _Verdicts(rule, live, analysed, requirements, parsed, kconfig)
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
            pattern = re.compile(
                rb"\b(" + b"|".join(re.escape(n.encode()) for n in case.exists_if) + rb")\b"
            )
            if any(_mentions(f, pattern) for f in parsed.values()):
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
    ) -> list[_FunctionResult]:
        own = frozenset(self.rule.file_names | set(self.rule.results))
        uses = frozenset(self.rule.watch) | frozenset(self.rule.forbidden)
        analysed: list[_FunctionResult] = []
        visible_requirements = _Visibility(requirements)
        visible_results = _Visibility(results)
        current = {_identity(r): r for group in requirements.values() for r in group}
        for path, parsed_file in parsed.items():
            local = visible_requirements.of(path)
            local_results = visible_results.of(path)
            # the functions that call a name the rule knows, or a summarised function this
            # file's calls can resolve to
            names = frozenset(own | local.keys() | local_results.keys())
            for function, digest, calls in self._relevant(parsed_file, names):
                node = function.node
                body = node.child_by_field_name("body")
                if body is None:
                    continue
                called = sorted(local.keys() & calls)
                if not called and not calls & uses and not _returns_values(parsed_file, node):
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
                    _FunctionResult(path, function.name, function.static, sites, digest, summary)
                )
        return analysed

    def _relevant(
        self, parsed_file: ParsedFile, names: frozenset[str]
    ) -> list[tuple[Function, str, frozenset[str]]]:
        """The functions that call any of names, with a digest of their text and the names they
        call (memoized per file)."""
        key = ("relevant", self.rule.id, names)
        cached = parsed_file.memo.get(key)
        if cached is None:
            cached = [entry for entry in self._called_names(parsed_file) if entry[2] & names]
            parsed_file.memo[key] = cached
        assert isinstance(cached, list)
        return cached

    def _called_names(self, parsed_file: ParsedFile) -> list[tuple[Function, str, frozenset[str]]]:
        """Each function with a digest of its text and the names it calls (`name(` in its
        text), once per file. Analyses are keyed by the digest, not by the function's place: a
        patch that only moves a function (lines added above it) reuses its analysis, shifted."""
        key = ("called", self.rule.names)
        cached = parsed_file.memo.get(key)
        if cached is None:
            found: list[tuple[Function, str, frozenset[str]]] = []
            for function in self._functions_of(parsed_file):
                node = function.node
                text = parsed_file.masked[node.start_byte : node.end_byte]
                digest = hashlib.sha1(
                    parsed_file.source[node.start_byte : node.end_byte]
                ).hexdigest()
                found.append(
                    (function, digest, frozenset(m.decode() for m in _CALLED.findall(text)))
                )
            cached = parsed_file.memo[key] = found
        assert isinstance(cached, list)
        return cached

    def _functions_of(self, parsed_file: ParsedFile) -> list[Function]:
        """Parsed functions plus, for watched calls the parse lost, functions re-parsed alone."""
        key = ("functions", self.rule.names)
        cached = parsed_file.memo.get(key)
        if cached is None:
            cached = self._recover_functions(parsed_file)
            parsed_file.memo[key] = cached
        assert isinstance(cached, list)
        return cached

    def _recover_functions(self, parsed_file: ParsedFile) -> list[Function]:
        functions = list(parsed_file.functions)
        covered = [(f.node.start_byte, f.node.end_byte) for f in functions]
        lost = [
            call
            for call in parsed_file.calls(self.rule.file_names)
            if not call.in_macro and not _inside_parsed_call(parsed_file, call.line, call.name)
        ]
        for call in lost:
            span = enclosing_function_text(parsed_file.source, call.line)
            if span is None or any(s <= span[0] < e for s, e in covered if (s, e) != span):
                continue
            function = reparse_function(parsed_file.source, *span)
            if function is not None:
                functions = [
                    f
                    for f in functions
                    if not (f.node.start_byte >= span[0] and f.node.end_byte <= span[1])
                ]
                functions.append(function)
                covered.append(span)
        return functions

    # -- coverage ---------------------------------------------------------------------------

    def _coverage(
        self, parsed: Mapping[str, ParsedFile], results: list[_FunctionResult]
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
                    id=_site_id(
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


class _Verdicts:
    """Verdicts of one state's sites, their reasons, and their root causes."""

    def __init__(
        self,
        rule: ContractRule,
        live: frozenset[str],
        analysed: list[_FunctionResult],
        requirements: Mapping[str, tuple[Requirement, ...]],
        parsed: Mapping[str, ParsedFile],
        kconfig: Kconfig | None,
    ) -> None:
        self.rule = rule
        self.live = live
        self.new_cases = rule.new_cases & live
        self.analysed = analysed
        self.parsed = parsed
        self.kconfig = kconfig
        callers: dict[str, list[tuple[_FunctionResult, SiteRecord]]] = {}
        for result in analysed:
            for site in result.sites:
                if site.requirement is not None:
                    callers.setdefault(site.requirement.function, []).append((result, site))
                elif site.api in rule.forbidden:
                    # A forbidden API defined in the tree: its calls are its callers too.
                    callers.setdefault(site.api, []).append((result, site))
        self.grounding = _Grounding(
            callers, _address_taken(set(requirements), parsed), rule.forbidden
        )
        self.texts: dict[str, list[str]] = {}
        self.roots: dict[str, _Root] = {}  # site id -> root of its violation
        self._guarded_use: dict[int, SiteRecord] = {}
        self._uses: dict[tuple[str, str, str], tuple[tuple[str, int], ...]] = {}
        self.functions = {(r.path, r.name): r for r in analysed}

    def sites(self) -> list[CallSite]:
        rule = self.rule
        sites: list[CallSite] = []
        for result in self.analysed:
            occurrences: dict[tuple[str, str], int] = {}
            grounded = [
                s
                for s in result.sites
                if s.violating and self.grounding.status(result, s)[0] == "grounded"
            ]
            for site in sorted(result.sites, key=lambda s: s.byte):
                if site.requirement is not None and site.fresh:
                    continue  # the callee reads the location itself: nothing passes here
                ident = (site.api, site.argument)
                occurrences[ident] = occurrences.get(ident, 0) + 1
                site_id = _site_id(
                    rule.id, result.path, result.name, site.api, site.argument, occurrences[ident]
                )
                judged = self._verdict(result, site, grounded)
                verdict, reason, how, evidence, root = judged
                if root is not None:
                    self.roots[site_id] = root
                    # a test that lets the case through is as latent as the use it leads to
                    subject = self._guarded_use.pop(id(site), site)
                    blocked = self._blocked(result.path, subject, root)
                    if blocked is not None:
                        verdict, reason, how = "latent", "config", f"{how}; {blocked}"
                sites.append(
                    CallSite(
                        id=site_id,
                        path=result.path,
                        line=site.line,
                        column=site.column,
                        function=result.name,
                        api=site.api,
                        argument=site.argument,
                        cases=rule.groups(site.cases),
                        verdict=verdict,
                        how=how,
                        evidence=evidence,
                        via=(
                            f"{site.requirement.api}() in {site.requirement.function}()"
                            if site.requirement
                            else ""
                        ),
                        excerpt=(
                            source_excerpt(self.texts, self.parsed, result.path, site.line)
                            if verdict in ("unhandled", "latent")
                            else ()
                        ),
                        reason=reason,
                        cause=_cause_id(rule.id, root) if root is not None else "",
                        digest=result.digest,
                    )
                )
        return sites

    # -- one site ---------------------------------------------------------------------------

    def _verdict(
        self, result: _FunctionResult, site: SiteRecord, grounded: list[SiteRecord]
    ) -> tuple[str, str, str, tuple[Location, ...], _Root | None]:
        rule = self.rule
        is_use = site.api in rule.forbidden or site.requirement is not None
        groups = _names(rule, self.new_cases) or "the new case"
        if is_use and site.violating:
            return self._violation(result, site)
        value = site.value
        if value is not None and not value.tracked:
            return (
                "handled",
                "origin",
                f"the value is {value.untracked}: no case of the rule is in it",
                (),
                None,
            )
        if is_use:
            missing = (
                rule.forbidden[site.api].cases
                if site.api in rule.forbidden
                else site.requirement.cases
                if site.requirement
                else frozenset()
            )
            if missing and not missing & self.live:
                return (
                    "handled",
                    "no-case",
                    f"({_names(rule, missing)}) does not exist in this tree",
                    (),
                    None,
                )
            return self._exclusion(site, missing & self.live)
        if not site.cases & self.new_cases:
            if not self.new_cases:
                return "handled", "no-case", f"({groups}) does not exist in this tree", (), None
            return self._exclusion(site, self.new_cases)
        for use in grounded:
            trail = use.violation.trail if use.violation else ()
            if any(
                event.line == site.line
                and event.note == "true"
                and event.text.startswith(f"{site.api}(")
                for event in trail
            ):
                _, _, _, evidence, root = self._violation(result, use)
                self._guarded_use[id(site)] = use
                return (
                    "unhandled",
                    "guard",
                    f"({_names(rule, use.violating)}) passes this test and reaches "
                    f"{use.api}() at line {use.line}",
                    evidence,
                    root,
                )
        return (
            "handled",
            "no-case",
            f"({groups}) can reach it; no forbidden use follows on any path",
            (),
            None,
        )

    def _violation(
        self, result: _FunctionResult, site: SiteRecord
    ) -> tuple[str, str, str, tuple[Location, ...], _Root | None]:
        rule = self.rule
        cases = _names(rule, site.violating)
        evidence = self._evidence(result.path, site)
        status, root, chain = self.grounding.status(result, site)
        if status == "clean":
            callers = self.grounding.callers_of(result)
            where = ", ".join(f"{r.name}() line {s.line}" for r, s in callers[:4])
            return "handled", "caller", f"every caller excludes it ({where})", (), None
        if status == "unknown":
            parameter = site.parameter_root.key if site.parameter_root else "?"
            visible = self.grounding.callers_of(result)
            why = (
                "no caller is visible"
                if not visible or result.name in self.grounding.address_taken
                else "its callers' values come from callers not visible"
            )
            return (
                "unknown",
                "caller",
                f"({cases}) can reach {site.api}() only through `{parameter}`, and {why}",
                evidence,
                None,
            )
        if chain:
            caller, caller_site = chain[0]
            chain_evidence: tuple[Location, ...] = ()
            for link_result, link_site in chain:
                chain_evidence += self._evidence(link_result.path, link_site)
            return (
                "unhandled",
                "caller",
                f"({cases}) reaches {site.api}() from {caller.name}() at "
                f"{caller.path}:{caller_site.line}",
                chain_evidence + evidence,
                root,
            )
        trail = site.violation.trail if site.violation else ()
        guarded = any(e.note in ("true", "false") for e in trail)
        return (
            "unhandled",
            "guard" if guarded else "origin",
            f"({cases}) reaches {site.api}() unguarded",
            evidence,
            root,
        )

    def _exclusion(
        self, site: SiteRecord, cases: frozenset[str]
    ) -> tuple[str, str, str, tuple[Location, ...], _Root | None]:
        value = site.value
        events = [value.exclusion(c) for c in sorted(cases)] if value else []
        known = [e for e in events if e is not None]
        names = _names(self.rule, cases)
        if known:
            event = known[0]
            return (
                "handled",
                event.kind or "guard",
                f"({names}) excluded by `{_short(event.text)}` ({event.note}) at line {event.line}",
                (),
                None,
            )
        if value is not None and value.root is None:
            return (
                "handled",
                "origin",
                f"({names}) cannot be in the value it is made from",
                (),
                None,
            )
        return "handled", "guard", f"({names}) cannot reach it", (), None

    def _evidence(self, path: str, site: SiteRecord) -> tuple[Location, ...]:
        trail: tuple[Event, ...] = site.violation.trail if site.violation else ()
        steps = [
            Location(
                path,
                e.line,
                f"`{_short(e.text)}` is {e.note}"
                if e.note in ("true", "false")
                else _short(e.note),
            )
            for e in trail
        ]
        cases = _names(self.rule, site.violating)
        if site.requirement is not None:
            req = site.requirement
            steps.append(Location(path, site.line, f"passes ({cases}) to {req.function}()"))
            steps.append(
                Location(req.file, req.use.line, f"{req.function}() calls {req.api}() on it")
            )
        else:
            steps.append(Location(path, site.line, f"{site.api}({site.argument}) with ({cases})"))
        return tuple(steps)

    # -- configuration ----------------------------------------------------------------------

    def _blocked(self, path: str, site: SiteRecord, root: _Root) -> str | None:
        """Why the new cases cannot reach this site in any configuration, or None: the site,
        the value's origin, or every forbidden use it leads to is compiled only where the
        option the cases need cannot be enabled."""
        configs = self.rule.configs
        cases = (site.violating or self.new_cases) & self.new_cases
        if self.kconfig is None or not cases or any(c not in configs for c in cases):
            return None  # a case that needs no option reaches it
        reasons = []
        for symbol in sorted({configs[c] for c in cases}):
            why = self._place_blocks(path, site.line, symbol)
            if why is None and (root.path, root.line) != (path, site.line):
                blocked = self._place_blocks(root.path, root.line, symbol)
                why = f"its value, from {root.path}:{root.line}, {blocked}" if blocked else None
            origins = self._origins(site) if why is None else ()
            if why is None and origins:
                uses = [(p, n, self._place_blocks(p, n, symbol)) for p, n in origins]
                if all(blocked for _, _, blocked in uses):
                    p, n, blocked = uses[0]
                    why = f"the forbidden use it leads to, at {p}:{n}, {blocked}"
            if why is None:
                return None
            reasons.append(why)
        return "; ".join(reasons)

    def _origins(self, site: SiteRecord) -> tuple[tuple[str, int], ...]:
        """The forbidden uses (path, line) a call of a summarised function leads to."""
        requirement = site.requirement
        if requirement is None:
            return ()
        key = (requirement.file, requirement.function, requirement.path)
        if key in self._uses:
            return self._uses[key]
        self._uses[key] = ()  # a cycle leads nowhere new
        found: set[tuple[str, int]] = set()
        callee = self.functions.get((requirement.file, requirement.function))
        for inner in callee.sites if callee is not None else ():
            root = inner.parameter_root
            if not inner.violating or root is None or root.key != requirement.path:
                continue
            if inner.requirement is None:
                found.add((requirement.file, inner.line))
            else:
                found.update(self._origins(inner))
        self._uses[key] = tuple(sorted(found))
        return self._uses[key]

    def _place_blocks(self, path: str, line: int, symbol: str) -> str | None:
        kconfig = self.kconfig
        assert kconfig is not None
        arches = kconfig.enabling(symbol)
        parts = path.split("/")
        if len(parts) > 2 and parts[0] == "arch" and parts[1] not in arches:
            arch = parts[1]
            blocker = kconfig.blocker(symbol, arch)
            verb = "selects" if kconfig.select_only(blocker) else "can enable"
            where = ", ".join(sorted(arches)) or "no architecture"
            needs = "" if blocker == symbol else f", which {symbol} needs"
            return f"would be unhandled once {arch} {verb} {blocker}{needs} (only {where} can)"
        parsed = self.parsed.get(path)
        conditions = parsed.conditions(line) if parsed is not None else []
        if not conditions:
            return None
        condition = " && ".join(f"({c})" for c in conditions)
        implied = kconfig.implied(symbol)
        if any(kconfig.condition_holds(condition, arch, implied) for arch in arches):
            return None
        shown = _short(" && ".join(conditions), 90)
        return f"is compiled only under `{shown}`, which cannot hold together with {symbol}"

    # -- root causes ------------------------------------------------------------------------

    def causes(self, sites: tuple[CallSite, ...]) -> tuple[Cause, ...]:
        by_cause: dict[str, list[CallSite]] = {}
        for site in sites:
            if site.cause and site.verdict in ("unhandled", "latent"):
                by_cause.setdefault(site.cause, []).append(site)
        causes = []
        for cause_id, members in sorted(by_cause.items()):
            root = self.roots[members[0].id]
            anchor = _anchor(members, root)
            further = tuple(s for s in members if s.id != anchor.id)
            verdict = "latent" if all(s.verdict == "latent" for s in members) else "unhandled"
            digest = hashlib.sha1(
                "\0".join(sorted({s.digest for s in members})).encode()
            ).hexdigest()
            causes.append(Cause(cause_id, verdict, anchor, further, root.describe(), digest))
        return tuple(causes)


def _anchor(members: list[CallSite], root: _Root) -> CallSite:
    """The guard that lets the case through (in the root's function first), else the first
    unguarded use in the root's function, else the first use anywhere."""

    def order(site: CallSite) -> tuple[int, int, str, int]:
        in_root = site.path == root.path and site.function == root.function
        guard = "passes this test" in site.how
        return (0 if guard else 1, 0 if in_root else 1, site.path, site.line)

    return min(members, key=order)


def _struct_lookup(structs: StructTable, path: str, name: str) -> dict[str, CType] | None:
    return structs.lookup(name, path)


def _returns_values(parsed_file: ParsedFile, function: tree_sitter.Node) -> bool:
    key = ("returns-values", function.start_byte)
    found = parsed_file.memo.get(key)
    if found is None:
        found = parsed_file.memo[key] = _may_return_values(function)
    return bool(found)


def _may_return_values(function: tree_sitter.Node) -> bool:
    """A function with parameters that returns a value: its results may say something about
    what it was passed."""
    kind = function.child_by_field_name("type")
    declarator = function.child_by_field_name("declarator")
    returns_void = (
        kind is not None
        and kind.text == b"void"
        and declarator is not None
        and declarator.type == "function_declarator"
    )
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    parameters = declarator.child_by_field_name("parameters") if declarator else None
    listed = b"".join((parameters.text or b"").split()) if parameters is not None else b"()"
    return not returns_void and listed not in (b"()", b"(void)")


def _mentions(parsed_file: ParsedFile, pattern: re.Pattern[bytes]) -> bool:
    key = ("mentions", pattern.pattern)
    found = parsed_file.memo.get(key)
    if found is None:
        found = parsed_file.memo[key] = pattern.search(parsed_file.masked) is not None
    return bool(found)


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


_Chain = list[tuple[_FunctionResult, SiteRecord]]
_S = TypeVar("_S", tuple[Requirement, ...], ResultSummary)


class _Grounding:
    """Whether a violation rooted at a parameter is fed by a real read somewhere up the chain.

    `grounded`: some path from a tracked read (a pte loaded from memory) carries the new case to
    the use; `clean`: every caller excludes it or passes a value of no case; `unknown`: a value
    callers pass, and no caller is visible (none found, or the function's address is taken).
    A load through a parameter pointer is the callee's own read where a caller has not read
    that location itself, or where no caller is visible.
    """

    def __init__(
        self,
        callers: Mapping[str, list[tuple[_FunctionResult, SiteRecord]]],
        address_taken: set[str],
        forbidden: Mapping[str, Forbidden],
    ) -> None:
        self.callers = callers
        self.address_taken = address_taken
        self.forbidden = forbidden
        self._memo: dict[tuple[str, str, int, str], tuple[str, _Root | None, _Chain]] = {}

    def callers_of(self, result: _FunctionResult) -> list[tuple[_FunctionResult, SiteRecord]]:
        return self.callers.get(result.name, [])

    def status(self, result: _FunctionResult, site: SiteRecord) -> tuple[str, _Root | None, _Chain]:
        """(grounded|clean|unknown, the root, the caller chain from the root down)."""
        if not site.violating:
            return "clean", None, []
        here = _own_root(result, site)
        if site.parameter_root is None:
            return "grounded", here, []
        key = (result.path, result.name, site.byte, site.parameter_root.key)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = ("unknown", None, [])  # a cycle through this site grounds nothing
        load = site.parameter_root.kind == "load"
        path = _requirement_path(site)
        statuses: list[tuple[str, _Root | None, _Chain]] = []
        invisible = not self.callers_of(result) or result.name in self.address_taken
        if invisible:
            statuses.append(("grounded", here, []) if load else ("unknown", None, []))
        for caller, caller_site in self.callers_of(result):
            outcome = self._outcome(caller_site, site, path)
            if outcome is None:
                continue
            statuses.append(self._caller_status(caller, caller_site, outcome, site, here, load))
        if not statuses:
            statuses.append(("grounded", here, []) if load else ("unknown", None, []))
        status = next((s for s in statuses if s[0] == "grounded"), None)
        if status is None:
            status = next((s for s in statuses if s[0] == "unknown"), ("clean", None, []))
        self._memo[key] = status
        return status

    def _outcome(
        self, caller_site: SiteRecord, site: SiteRecord, path: str | None
    ) -> Outcome | None:
        """What a caller passes for the callee's parameter-rooted path."""
        if caller_site.requirement is not None:
            return caller_site.outcomes.get(path) if path else None
        forbidden = self.forbidden.get(caller_site.api)
        root = site.parameter_root
        if forbidden is None or root is None or root.kind != "parameter":
            return None
        if root.parameters != ((forbidden.argument, root.key),):
            return None  # the callee's value is not the argument the caller's use is about
        return Outcome(caller_site.value, caller_site.violating, False, caller_site.parameter_root)

    def _caller_status(
        self,
        caller: _FunctionResult,
        caller_site: SiteRecord,
        outcome: Outcome,
        site: SiteRecord,
        here: _Root,
        load: bool,
    ) -> tuple[str, _Root | None, _Chain]:
        if outcome.fresh:
            return ("grounded", here, []) if load else ("unknown", None, [])
        if not outcome.violating & site.violating:
            return "clean", None, []
        if outcome.parameter_root is None:
            value = outcome.value
            key = value.root.key if value is not None and value.root else caller_site.argument
            line = value.root.line if value is not None and value.root else caller_site.line
            return (
                "grounded",
                _Root(caller.path, caller.name, key, line or caller_site.line),
                [(caller, caller_site)],
            )
        probe = replace(
            caller_site,
            violating=outcome.violating,
            parameter_root=outcome.parameter_root,
            violation=outcome.value,
        )
        status, root, chain = self.status(caller, probe)
        return status, root, [*chain, (caller, caller_site)] if status == "grounded" else chain


def _requirement_path(site: SiteRecord) -> str | None:
    """The callee-side path callers' outcomes are recorded under for this violation."""
    root = site.parameter_root
    return root.key if root is not None else None


def _own_root(result: _FunctionResult, site: SiteRecord) -> _Root:
    value = site.violation
    if value is not None and value.root is not None:
        return _Root(result.path, result.name, value.root.key, value.root.line or site.line)
    return _Root(result.path, result.name, site.argument, site.line)


def _inside_parsed_call(parsed_file: ParsedFile, line: int, name: str) -> bool:
    for function in parsed_file.functions:
        if function.start_line <= line <= function.end_line:
            node = function.node
            return not _line_in_error(node, line)
    return False


def _line_in_error(node: object, line: int) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "ERROR":  # type: ignore[attr-defined]
            start = current.start_point[0] + 1  # type: ignore[attr-defined]
            end = current.end_point[0] + 1  # type: ignore[attr-defined]
            if start <= line <= end:
                return True
        if current.has_error:  # type: ignore[attr-defined]
            stack.extend(current.children)  # type: ignore[attr-defined]
    return False


def _requirements(results: list[_FunctionResult]) -> dict[str, tuple[Requirement, ...]]:
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


def _results(analysed: list[_FunctionResult]) -> dict[str, ResultSummary]:
    return {_summary_key(r): r.results for r in analysed if r.results is not None}


def _summary_key(result: _FunctionResult) -> str:
    """Static functions in .c files are visible in their file only."""
    if result.static and result.path.endswith(".c"):
        return f"{result.path}::{result.name}"
    return result.name


def _plain(key: str) -> str:
    return key.split("::", 1)[-1]


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


def _address_taken(names: set[str], parsed: Mapping[str, ParsedFile]) -> set[str]:
    plain = {_plain(n) for n in names}
    if not plain:
        return set()
    pattern = re.compile(
        rb"\b(" + b"|".join(re.escape(n.encode()) for n in sorted(plain)) + rb")\b(?!\s*\()"
    )
    taken: set[str] = set()
    encoded = [n.encode() for n in plain]
    for parsed_file in parsed.values():
        key = ("address-taken", tuple(sorted(plain)))
        found = parsed_file.memo.get(key)
        if found is None:
            masked = parsed_file.masked
            found = (
                {m.group(1).decode() for m in pattern.finditer(masked)}
                if any(n in masked for n in encoded)
                else set()
            )
            parsed_file.memo[key] = found
        assert isinstance(found, set)
        taken |= found
    return taken


def _names(rule: ContractRule, cases: frozenset[str]) -> str:
    return ", ".join(rule.groups(cases))


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _site_id(rule: str, path: str, function: str, api: str, argument: str, occurrence: int) -> str:
    normalized = re.sub(r"\s+", "", argument)
    text = "\0".join((rule, path, function, api, normalized, str(occurrence)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cause_id(rule: str, root: _Root) -> str:
    text = "\0".join((rule, root.id, re.sub(r"\s+", "", root.key)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


EXCERPT_RADIUS = 2


def source_excerpt(
    texts: dict[str, list[str]],
    parsed: Mapping[str, ParsedFile],
    path: str,
    line: int,
    radius: int = EXCERPT_RADIUS,
) -> tuple[Location, ...]:
    """The lines of path around line (1-based) as Locations whose note is the line's text,
    for a report to quote the code the way a reviewer would look it up. texts keeps each
    file's lines once decoded."""
    if path not in texts:
        if path not in parsed:
            return ()
        texts[path] = parsed[path].source.decode("utf-8", "replace").splitlines()
    lines = texts[path]
    first, last = max(1, line - radius), min(len(lines), line + radius)
    return tuple(Location(path, n, lines[n - 1].rstrip()) for n in range(first, last + 1))
