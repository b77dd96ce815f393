"""The call-site audit: every call of a watched API, tree-wide, with the cases that reach it and
a verdict, computed for one tree state at a time (the base, then after each patch).

Only files that mention a name the rule gives meaning to are read and parsed; functions that
mention none are skipped. Summaries (a function whose parameter reaches a forbidden use) are
iterated to a fixpoint: callers of a summarised function are found with `git grep` and checked.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from reviewtool.csource import (
    Function,
    ParsedFile,
    enclosing_function_text,
    parse_file,
    reparse_function,
)
from reviewtool.dataflow import (
    Event,
    FunctionAnalysis,
    Requirement,
    SiteRecord,
    Value,
    parameter_types,
    parameters,
)
from reviewtool.findings import Location
from reviewtool.rules import ContractRule

log = logging.getLogger(__name__)

_MAX_ROUNDS = 6
_CALLED = re.compile(rb"\b([A-Za-z_]\w*)\s*\(")


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
    verdict: str  # handled | unhandled | unknown
    how: str
    evidence: tuple[Location, ...] = ()
    via: str = ""  # for a call of a summarised function: the forbidden use it leads to
    excerpt: tuple[Location, ...] = ()  # unhandled sites: the source lines around the call


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

    def by_id(self) -> dict[str, CallSite]:
        return {site.id: site for site in self.sites}


@dataclass
class _FunctionResult:
    path: str
    name: str
    static: bool
    sites: list[SiteRecord]


@dataclass
class _Context:
    """Per-run caches shared across tree states: parsed files by blob id."""

    parsed: dict[str, ParsedFile] = field(default_factory=dict)
    analysed: dict[tuple[object, ...], tuple[tuple[int, int], list[SiteRecord]]] = field(
        default_factory=dict
    )


FileReader = Callable[[str], tuple[str, bytes] | None]  # path -> (blob id, content)


class Auditor:
    """Audits tree states against one rule; keeps parse and analysis caches across states."""

    def __init__(self, rule: ContractRule) -> None:
        self.rule = rule
        self.context = _Context()

    def audit(
        self, files: Iterable[str], read: FileReader, find_callers: Callable[[set[str]], set[str]]
    ) -> StateAudit:
        """Audit a state: `files` mention the rule's names; `find_callers` greps more names."""
        rule = self.rule
        parsed = self._parse_all(sorted(set(files)), read)
        live = self._live_cases(parsed)
        summaries: dict[str, tuple[Requirement, ...]] = {}
        results: list[_FunctionResult] = []
        searched: set[str] = set(rule.names)
        for _ in range(_MAX_ROUNDS):
            results = self._analyse(parsed, live, summaries)
            new = _summaries(results, summaries)
            if new == summaries:
                break
            summaries = new
            # A static function of a .c file is called from its own file only: no search.
            wanted = {name for name in summaries if "::" not in name} - searched
            if wanted:
                searched |= wanted
                extra = find_callers(wanted) - set(parsed)
                parsed.update(self._parse_all(sorted(extra), read))
        sites = self._verdicts(results, summaries, live, parsed)
        coverage = self._coverage(parsed, results)
        sites += self._unparsed_sites(coverage)
        return StateAudit(
            live,
            tuple(sorted(sites, key=lambda s: (s.path, s.line, s.column))),
            coverage,
            len(parsed),
        )

    # -- parsing ----------------------------------------------------------------------------

    def _parse_all(self, paths: list[str], read: FileReader) -> dict[str, ParsedFile]:
        parsed: dict[str, ParsedFile] = {}
        for path in paths:
            found = read(path)
            if found is None:
                continue
            blob, content = found
            cached = self.context.parsed.get(blob)
            if cached is None or cached.path != path:
                cached = parse_file(path, content)
                self.context.parsed[blob] = cached
            parsed[path] = cached
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
        summaries: Mapping[str, tuple[Requirement, ...]],
    ) -> list[_FunctionResult]:
        names = set(self.rule.names) | set(summaries)
        pattern = re.compile(
            rb"\b(" + b"|".join(re.escape(n.encode()) for n in sorted(names)) + rb")\s*\("
        )
        results: list[_FunctionResult] = []
        for path, parsed_file in parsed.items():
            local = _visible(summaries, path)
            for function, text in self._relevant(parsed_file, frozenset(names), pattern):
                node = function.node
                body = node.child_by_field_name("body")
                if body is None:
                    continue
                called = sorted(n for n in local if n.encode() in text)
                # Keyed by the function's text, not its place: a patch that only moves a
                # function (lines added above it) reuses the analysis, shifted.
                cache_key = (
                    path,
                    hashlib.sha1(text).hexdigest(),
                    live,
                    tuple((n, tuple(map(_identity, local[n]))) for n in called),
                )
                start = (node.start_point[0], node.start_byte)
                cached = self.context.analysed.get(cache_key)
                sites = None
                if cached is not None:
                    (old_line, old_byte), old_sites = cached
                    sites = _shifted(old_sites, start[0] - old_line, start[1] - old_byte)
                    sites = _current_requirements(sites, local)
                if sites is None:
                    analysis = FunctionAnalysis(
                        self.rule,
                        live,
                        {n: local[n] for n in called},
                        function.name,
                        parameters(node),
                        path,
                        parameter_types(node),
                    )
                    analysis.run(body)
                    sites = list(analysis.sites.values())
                    self.context.analysed[cache_key] = (start, sites)
                results.append(_FunctionResult(path, function.name, function.static, sites))
        return results

    def _relevant(
        self, parsed_file: ParsedFile, names: frozenset[str], pattern: re.Pattern[bytes]
    ) -> list[tuple[Function, bytes]]:
        """The functions that call any of names, with their text (memoized per file)."""
        key = ("relevant", self.rule.id, names)
        cached = parsed_file.memo.get(key)
        if cached is None:
            cached = [
                (function, parsed_file.source[function.node.start_byte : function.node.end_byte])
                for function, called in self._called_names(parsed_file)
                if called & names
            ]
            parsed_file.memo[key] = cached
        assert isinstance(cached, list)
        return cached

    def _called_names(self, parsed_file: ParsedFile) -> list[tuple[Function, frozenset[str]]]:
        """Each function with the names it calls (`name(` in its text), once per file."""
        key = ("called", self.rule.names)
        cached = parsed_file.memo.get(key)
        if cached is None:
            found: list[tuple[Function, frozenset[str]]] = []
            for function in self._functions_of(parsed_file):
                node = function.node
                text = parsed_file.masked[node.start_byte : node.end_byte]
                found.append((function, frozenset(m.decode() for m in _CALLED.findall(text))))
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
            for call in parsed_file.calls(self.rule.names)
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

    # -- verdicts ---------------------------------------------------------------------------

    def _verdicts(
        self,
        results: list[_FunctionResult],
        summaries: Mapping[str, tuple[Requirement, ...]],
        live: frozenset[str],
        parsed: Mapping[str, ParsedFile],
    ) -> list[CallSite]:
        rule = self.rule
        new_cases = rule.new_cases & live
        callers: dict[str, list[tuple[_FunctionResult, SiteRecord]]] = {}
        for result in results:
            for site in result.sites:
                if site.requirement is not None:
                    callers.setdefault(site.requirement.function, []).append((result, site))
                elif site.api in rule.forbidden:
                    # A forbidden API defined in the tree: its callers are checked as uses.
                    callers.setdefault(f"forbidden:{site.api}", []).append((result, site))
        address_taken = _address_taken(set(summaries), parsed)
        grounding = _Grounding(callers, address_taken)
        sites: list[CallSite] = []
        texts: dict[str, list[str]] = {}  # the lines of the files with unhandled sites
        for result in results:
            occurrences: dict[tuple[str, str], int] = {}
            unhandled_uses = [
                s for s in result.sites if s.violating and grounding.status(result, s) == "grounded"
            ]
            for site in sorted(result.sites, key=lambda s: s.byte):
                ident = (site.api, site.argument)
                occurrences[ident] = occurrences.get(ident, 0) + 1
                verdict, how, evidence = self._verdict(
                    result, site, unhandled_uses, grounding, new_cases, live
                )
                sites.append(
                    CallSite(
                        id=_site_id(
                            rule.id,
                            result.path,
                            result.name,
                            site.api,
                            site.argument,
                            occurrences[ident],
                        ),
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
                            source_excerpt(texts, parsed, result.path, site.line)
                            if verdict == "unhandled"
                            else ()
                        ),
                    )
                )
        return sites

    def _verdict(
        self,
        result: _FunctionResult,
        site: SiteRecord,
        unhandled_uses: list[SiteRecord],
        grounding: _Grounding,
        new_cases: frozenset[str],
        live: frozenset[str],
    ) -> tuple[str, str, tuple[Location, ...]]:
        rule = self.rule
        path = result.path
        is_use = site.api in rule.forbidden or site.requirement is not None
        groups = ", ".join(rule.groups(new_cases)) or "the new case"
        if is_use:
            if site.violating:
                evidence = self._evidence(path, site)
                if site.from_parameter is not None:
                    status = grounding.status(result, site)
                    chain = grounding.callers_of(result)
                    if status == "clean":
                        where = ", ".join(f"{r.name}() line {s.line}" for r, s in chain[:4])
                        return "handled", f"every caller excludes it ({where})", ()
                    if status == "unknown":
                        parameter = site.from_parameter[1]
                        why = (
                            "no caller is visible"
                            if not chain or result.name in grounding.address_taken
                            else "its callers' values come from callers not visible"
                        )
                        return (
                            "unknown",
                            f"({_names(rule, site.violating)}) can reach {site.api}() only "
                            f"through the parameter `{parameter}`, and {why}",
                            evidence,
                        )
                    grounded = grounding.grounded_caller(result)
                    if grounded is None:
                        return (
                            "unhandled",
                            f"({_names(rule, site.violating)}) reaches {site.api}() unguarded; "
                            f"no visible caller guards `{site.from_parameter[1]}`",
                            evidence,
                        )
                    caller, caller_site = grounded
                    chain_evidence = self._evidence(caller.path, caller_site)
                    return (
                        "unhandled",
                        f"({_names(rule, site.violating)}) reaches {site.api}() from "
                        f"{caller.name}() at {caller.path}:{caller_site.line}",
                        chain_evidence + evidence,
                    )
                return (
                    "unhandled",
                    f"({_names(rule, site.violating)}) reaches {site.api}() unguarded",
                    evidence,
                )
            if site.value is not None and not site.value.tracked:
                return (
                    "handled",
                    f"the value is not read from a {rule.value or 'tracked value'}: it comes "
                    f"from {site.value.untracked}",
                    (),
                )
            missing = (
                rule.forbidden[site.api].cases
                if site.api in rule.forbidden
                else site.requirement.cases
                if site.requirement
                else frozenset()
            )
            absent = missing - live
            if missing and absent == missing:
                return "handled", f"({_names(rule, missing)}) does not exist in this tree", ()
            return "handled", self._exclusion(site, missing & live), ()
        if site.value is not None and not site.value.tracked:
            return (
                "handled",
                f"the value comes from {site.value.untracked}, not from a "
                f"{rule.value or 'tracked value'}",
                (),
            )
        if not site.cases & new_cases:
            if not new_cases:
                return "handled", f"({groups}) does not exist in this tree", ()
            return "handled", self._exclusion(site, new_cases), ()
        for use in unhandled_uses:
            trail = use.violation.trail if use.violation else ()
            if any(
                event.line == site.line
                and event.note == "true"
                and event.text.startswith(f"{site.api}(")
                for event in trail
            ):
                return (
                    "unhandled",
                    f"({_names(rule, use.violating)}) passes this test and reaches "
                    f"{use.api}() at line {use.line}",
                    self._evidence(path, use),
                )
        return ("handled", f"({groups}) can reach it; no forbidden use follows on any path", ())

    def _exclusion(self, site: SiteRecord, cases: frozenset[str]) -> str:
        value = site.value
        events = [value.exclusion(c) for c in sorted(cases)] if value else []
        known = [e for e in events if e is not None]
        if known:
            event = known[0]
            return (
                f"({_names(self.rule, cases)}) excluded by `{_short(event.text)}` "
                f"({event.note}) at line {event.line}"
            )
        return f"({_names(self.rule, cases)}) cannot reach it"

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
            for call in parsed_file.calls(self.rule.names):
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
                )
            )
        return sites


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
        requirement.parameter,
        requirement.path,
        requirement.parameter_name,
        requirement.cases,
        requirement.api,
        requirement.file,
    )


def _current_requirements(
    sites: list[SiteRecord], summaries: Mapping[str, tuple[Requirement, ...]]
) -> list[SiteRecord]:
    """Point reused sites at this state's requirements (same identity, current use line)."""
    current = {_identity(r): r for requirements in summaries.values() for r in requirements}
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
        )
        for site in sites
    ]


def _shift_value(value: Value | None, lines: int) -> Value | None:
    if value is None:
        return None
    return replace(
        value,
        trail=tuple(replace(e, line=e.line + lines) for e in value.trail),
        excluded=tuple((c, replace(e, line=e.line + lines)) for c, e in value.excluded),
    )


class _Grounding:
    """Whether a violation rooted at a parameter is fed by a real read somewhere up the chain.

    `grounded`: some path from a tracked read (a pte loaded from memory) carries the new case to
    the use; `clean`: every caller excludes it or passes an untracked value; `unknown`: the
    chain ends where callers are not visible (none found, or the function's address is taken).
    """

    def __init__(
        self,
        callers: Mapping[str, list[tuple[_FunctionResult, SiteRecord]]],
        address_taken: set[str],
    ) -> None:
        self.callers = callers
        self.address_taken = address_taken
        self._memo: dict[tuple[str, str, int], str] = {}

    def callers_of(self, result: _FunctionResult) -> list[tuple[_FunctionResult, SiteRecord]]:
        return self.callers.get(result.name) or self.callers.get(f"forbidden:{result.name}", [])

    def status(self, result: _FunctionResult, site: SiteRecord) -> str:
        if not site.violating:
            return "clean"
        if site.from_parameter is None:
            return "grounded"
        key = (result.path, result.name, site.byte)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = "unknown"  # a cycle through this site grounds nothing
        chain = self.callers_of(result)
        if not chain or result.name in self.address_taken:
            # Nothing visible guards it: a pte parameter is a pte, whoever passes it; a derived
            # value (an swp_entry_t) with no visible source may never come from a pte.
            status = "grounded" if site.parameter_holds_value else "unknown"
        else:
            statuses = {self.status(r, s) for r, s in chain}
            status = (
                "grounded"
                if "grounded" in statuses
                else "unknown"
                if "unknown" in statuses
                else "clean"
            )
        self._memo[key] = status
        return status

    def grounded_caller(self, result: _FunctionResult) -> tuple[_FunctionResult, SiteRecord] | None:
        return next(
            ((r, s) for r, s in self.callers_of(result) if self.status(r, s) == "grounded"), None
        )


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


def _summaries(
    results: list[_FunctionResult], previous: Mapping[str, tuple[Requirement, ...]]
) -> dict[str, tuple[Requirement, ...]]:
    summaries: dict[str, set[Requirement]] = {}
    for result in results:
        for site in result.sites:
            if not site.violating or site.from_parameter is None or site.violation is None:
                continue
            index, name, path = site.from_parameter
            use = Event(site.line, site.argument, site.api)
            api = site.requirement.api if site.requirement else site.api
            key = _summary_key(result)
            summaries.setdefault(key, set()).add(
                Requirement(
                    function=result.name,
                    parameter=index,
                    path=path,
                    parameter_name=name,
                    cases=site.violating,
                    use=use,
                    api=api,
                    file=result.path,
                )
            )
    return {
        k: tuple(sorted(v, key=lambda r: (r.parameter, r.path, r.use.line)))
        for k, v in summaries.items()
    }


def _summary_key(result: _FunctionResult) -> str:
    """Static functions in .c files are visible in their file only."""
    if result.static and result.path.endswith(".c"):
        return f"{result.path}::{result.name}"
    return result.name


def _visible(
    summaries: Mapping[str, tuple[Requirement, ...]], path: str
) -> dict[str, tuple[Requirement, ...]]:
    visible: dict[str, tuple[Requirement, ...]] = {}
    for key, requirements in summaries.items():
        if "::" in key:
            file, name = key.split("::", 1)
            if file == path:
                visible[name] = requirements
        else:
            visible.setdefault(key, requirements)
    return visible


def _address_taken(names: set[str], parsed: Mapping[str, ParsedFile]) -> set[str]:
    plain = {n.split("::", 1)[-1] for n in names}
    if not plain:
        return set()
    pattern = re.compile(
        rb"\b(" + b"|".join(re.escape(n.encode()) for n in sorted(plain)) + rb")\b(?!\s*\()"
    )
    taken: set[str] = set()
    for parsed_file in parsed.values():
        key = ("address-taken", tuple(sorted(plain)))
        found = parsed_file.memo.get(key)
        if found is None:
            found = {m.group(1).decode() for m in pattern.finditer(parsed_file.masked)}
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
