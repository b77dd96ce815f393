"""Verdicts of the call-site audit: each site's verdict and the kind of reason it rests on,
whether a parameter-rooted violation is grounded by a caller, which configurations can reach
it, and the root causes that group unhandled sites into one finding each."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from reviewtool.analysis.csource import ParsedFile
from reviewtool.analysis.returns import ResultSummary
from reviewtool.analysis.rules import ContractRule, Forbidden
from reviewtool.analysis.sites import Outcome, Requirement, SiteRecord
from reviewtool.analysis.values import Event
from reviewtool.findings import Location
from reviewtool.kbuild.kconfig import Kconfig

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


@dataclass
class FunctionResult:
    path: str
    name: str
    static: bool
    sites: list[SiteRecord]
    digest: str = ""
    results: ResultSummary | None = None


@dataclass(frozen=True)
class Origin:
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


class Verdicts:
    """Verdicts of one state's sites, their reasons, and their root causes."""

    def __init__(
        self,
        rule: ContractRule,
        live: frozenset[str],
        analysed: list[FunctionResult],
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
        callers: dict[str, list[tuple[FunctionResult, SiteRecord]]] = {}
        for result in analysed:
            for site in result.sites:
                if site.requirement is not None:
                    callers.setdefault(site.requirement.function, []).append((result, site))
                elif site.api in rule.forbidden:
                    # A forbidden API defined in the tree: its calls are its callers too.
                    callers.setdefault(site.api, []).append((result, site))
        self.grounding = Grounding(
            callers, address_taken(set(requirements), parsed), rule.forbidden
        )
        self.texts: dict[str, list[str]] = {}
        self.roots: dict[str, Origin] = {}  # site id -> root of its violation
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
                identifier = site_id(
                    rule.id, result.path, result.name, site.api, site.argument, occurrences[ident]
                )
                judged = self._verdict(result, site, grounded)
                verdict, reason, how, evidence, root = judged
                if root is not None:
                    self.roots[identifier] = root
                    # a test that lets the case through is as latent as the use it leads to
                    subject = self._guarded_use.pop(id(site), site)
                    blocked = self._blocked(result.path, subject, root)
                    if blocked is not None:
                        verdict, reason, how = "latent", "config", f"{how}; {blocked}"
                sites.append(
                    CallSite(
                        id=identifier,
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
        self, result: FunctionResult, site: SiteRecord, grounded: list[SiteRecord]
    ) -> tuple[str, str, str, tuple[Location, ...], Origin | None]:
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
        self, result: FunctionResult, site: SiteRecord
    ) -> tuple[str, str, str, tuple[Location, ...], Origin | None]:
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
    ) -> tuple[str, str, str, tuple[Location, ...], Origin | None]:
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

    def _blocked(self, path: str, site: SiteRecord, root: Origin) -> str | None:
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


def _anchor(members: list[CallSite], root: Origin) -> CallSite:
    """The guard that lets the case through (in the root's function first), else the first
    unguarded use in the root's function, else the first use anywhere."""

    def order(site: CallSite) -> tuple[int, int, str, int]:
        in_root = site.path == root.path and site.function == root.function
        guard = "passes this test" in site.how
        return (0 if guard else 1, 0 if in_root else 1, site.path, site.line)

    return min(members, key=order)


_Chain = list[tuple[FunctionResult, SiteRecord]]


class Grounding:
    """Whether a violation rooted at a parameter is fed by a real read somewhere up the chain.

    `grounded`: some path from a tracked read (a pte loaded from memory) carries the new case to
    the use; `clean`: every caller excludes it or passes a value of no case; `unknown`: a value
    callers pass, and no caller is visible (none found, or the function's address is taken).
    A load through a parameter pointer is the callee's own read where a caller has not read
    that location itself, or where no caller is visible.
    """

    def __init__(
        self,
        callers: Mapping[str, list[tuple[FunctionResult, SiteRecord]]],
        address_taken: set[str],
        forbidden: Mapping[str, Forbidden],
    ) -> None:
        self.callers = callers
        self.address_taken = address_taken
        self.forbidden = forbidden
        self._memo: dict[tuple[str, str, int, str], tuple[str, Origin | None, _Chain]] = {}

    def callers_of(self, result: FunctionResult) -> list[tuple[FunctionResult, SiteRecord]]:
        return self.callers.get(result.name, [])

    def status(self, result: FunctionResult, site: SiteRecord) -> tuple[str, Origin | None, _Chain]:
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
        statuses: list[tuple[str, Origin | None, _Chain]] = []
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
        caller: FunctionResult,
        caller_site: SiteRecord,
        outcome: Outcome,
        site: SiteRecord,
        here: Origin,
        load: bool,
    ) -> tuple[str, Origin | None, _Chain]:
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
                Origin(caller.path, caller.name, key, line or caller_site.line),
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


def _own_root(result: FunctionResult, site: SiteRecord) -> Origin:
    value = site.violation
    if value is not None and value.root is not None:
        return Origin(result.path, result.name, value.root.key, value.root.line or site.line)
    return Origin(result.path, result.name, site.argument, site.line)


def plain_name(key: str) -> str:
    return key.split("::", 1)[-1]


def address_taken(names: set[str], parsed: Mapping[str, ParsedFile]) -> set[str]:
    plain = frozenset(plain_name(n) for n in names)
    if not plain:
        return set()
    return {name for parsed_file in parsed.values() for name in parsed_file.used_as_values(plain)}


def _names(rule: ContractRule, cases: frozenset[str]) -> str:
    return ", ".join(rule.groups(cases))


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def site_id(rule: str, path: str, function: str, api: str, argument: str, occurrence: int) -> str:
    normalized = re.sub(r"\s+", "", argument)
    text = "\0".join((rule, path, function, api, normalized, str(occurrence)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cause_id(rule: str, root: Origin) -> str:
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
