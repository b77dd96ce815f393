"""Tree mode: apply the series in a throw-away repository and audit every tree state.

State 0 is the base; state k is the tree after patch k. Each state is audited against each
contract rule; a site's verdict in state k is compared with state k-1, so every patch is told
which sites it made unhandled and which it resolved.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from reviewtool.analysis.callers import CallerSite, Contract
from reviewtool.analysis.callsites import Auditor, Context, Coverage, StateAudit
from reviewtool.analysis.csource import mask_comments_and_strings, names_pattern
from reviewtool.analysis.inference import (
    ContractAudit,
    Parser,
    audit_callers,
    change_text,
    changed_contracts,
    definitions,
)
from reviewtool.analysis.returnrules import is_return_rule, load_return_rule
from reviewtool.analysis.rules import ContractRule, load_rule, rule_names
from reviewtool.analysis.verdicts import CallSite, Cause
from reviewtool.errors import ToolchainError
from reviewtool.findings import Finding, Inferred, Location, Rule, RuleKind, Severity
from reviewtool.git import Applied, AppliedSeries, BlobReader, TreeState, Workspace
from reviewtool.intake.series import Series
from reviewtool.kbuild.kconfig import Kconfig, is_kconfig
from reviewtool.progress import ANALYSE, NOTHING, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TreeOptions:
    tree: Path
    base: str | None = None
    strict_apply: bool = False
    rules: tuple[str, ...] = ()  # names or paths; empty: every rule the series touches
    cache_dir: Path | None = None
    work_dir: Path | None = None  # where the temporary repository goes (None: the temp dir)
    infer: bool = True  # infer the return contracts the series changes, and audit their callers


@dataclass(frozen=True)
class PatchDelta:
    number: int
    unhandled: tuple[str, ...]
    resolved: tuple[str, ...]


@dataclass(frozen=True)
class CauseStatus:
    """How a root cause of the final state came to be: `new` (a patch made it), `changed` (it
    was there at the base and a patch changed the code it spans) or `preexisting`."""

    cause: Cause
    status: str
    patch: int | None  # the patch that made or changed it


@dataclass(frozen=True)
class RuleAudit:
    rule: ContractRule
    base: StateAudit
    final: StateAudit
    deltas: tuple[PatchDelta, ...]
    introduced_by: dict[str, int]  # unhandled site id -> the patch that made it unhandled
    causes: tuple[CauseStatus, ...] = ()

    def causes_with(self, *statuses: str) -> list[CauseStatus]:
        return [c for c in self.causes if c.status in statuses]


@dataclass(frozen=True)
class InferredAudit:
    """A return contract a patch changes: its callers (and its pass-through wrappers') in the
    final state, and, when later patches follow it, in the state the patch leaves."""

    contract: Contract
    final: tuple[ContractAudit, ...]
    at_patch: tuple[ContractAudit, ...] = ()
    rule: str = ""  # the rule file's id for a contract stated there (empty: inferred)
    preexisting: frozenset[str] = frozenset()  # sites unhandled at the base already

    def unhandled(self) -> list[tuple[Contract, CallerSite]]:
        return [(a.contract, s) for a in self.final for s in a.unhandled()]


@dataclass(frozen=True)
class TreeAudit:
    state: TreeState
    audits: tuple[RuleAudit, ...]
    inferred: tuple[InferredAudit, ...] = ()

    @property
    def coverage(self) -> Coverage:
        textual = sum(a.final.coverage.textual for a in self.audits)
        parsed = sum(a.final.coverage.parsed for a in self.audits)
        unparsed = tuple(u for a in self.audits for u in a.final.coverage.unparsed)
        return Coverage(textual, parsed, unparsed)

    def sites(self) -> list[tuple[ContractRule, CallSite]]:
        return [(a.rule, s) for a in self.audits for s in a.final.sites]


class NameIndex:
    """Which files of the base mention each name: one `git grep -o -w` per batch of new names,
    remembered on disk by the base's tree id so later runs skip the search."""

    def __init__(self, workspace: Workspace, base: str, cache_dir: Path | None) -> None:
        self.workspace = workspace
        self.base = base
        self._tree_id = workspace.git("rev-parse", f"{base}^{{tree}}").stdout.decode().strip()
        self.cache_dir = cache_dir
        self._cache_file = cache_dir / "grep" / f"{self._tree_id}.json" if cache_dir else None
        self._known: dict[str, list[str]] = self._load()

    def _load(self) -> dict[str, list[str]]:
        if self._cache_file is None or not self._cache_file.is_file():
            return {}
        try:
            data = json.loads(self._cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self) -> None:
        if self._cache_file is None:
            return
        try:
            self._cache_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = self._cache_file.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(self._known, sort_keys=True), encoding="utf-8")
            os.replace(temporary, self._cache_file)
        except OSError as error:
            log.info("cannot write the grep cache: %s", error)

    def files(self, names: set[str]) -> set[str]:
        missing = sorted(n for n in names if n not in self._known)
        if missing:
            self._search(missing)
        return {path for name in names for path in self._known.get(name, [])}

    def _search(self, names: list[str]) -> None:
        found: dict[str, set[str]] = {name: set() for name in names}
        prefix = f"{self.base}:"
        for batch in _batches(names, _GREP_ARGUMENT_BYTES):
            # one extended regex of the names, longest first: git compiles every `-e` on its
            # own and tries each on every line (1,000 names took 85 s on 6.1; this, 3 s)
            ordered = sorted(batch, key=lambda n: (-len(n), n))
            pattern = "(" + "|".join(re.escape(n) for n in ordered) + ")"
            args = ["grep", "-E", "-o", "-w", "-I", "-e", pattern]
            result = self.workspace.git(*args, self.base, "--", "*.c", "*.h", check=False)
            if result.returncode not in (0, 1):
                raise ToolchainError(f"git grep failed: {result.stderr.decode().strip()}")
            for output in result.stdout.decode("utf-8", "replace").splitlines():
                path, _, name = output.removeprefix(prefix).rpartition(":")
                if name in found:
                    found[name].add(path)
        for name, paths in found.items():
            self._known[name] = sorted(paths)
        self._save()


# What one `git grep` command line may spend on its `-e NAME` patterns: well under the
# kernel's per-argument-list limit (ARG_MAX, 2 MiB with the environment), so a rule that
# watches 100,000 names is searched in several runs, never refused by exec.
_GREP_ARGUMENT_BYTES = 128 * 1024


def _batches(names: list[str], budget: int) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for name in names:
        cost = len(name.encode()) + 1  # the name and its `|` in the one pattern
        if batch and size + cost > budget:
            yield batch
            batch, size = [], 0
        batch.append(name)
        size += cost
    if batch:
        yield batch


def choose_rules(series: Series, wanted: Sequence[str]) -> list[ContractRule]:
    """The rules asked for, or every rule whose names the series' added lines mention."""
    if wanted:
        return [load_rule(name) for name in wanted]
    added = "\n".join(
        line.text
        for patch in series.patches
        for change in patch.files
        for hunk in change.hunks
        for line in hunk.added
    )
    rules = [load_rule(name) for name in rule_names()]

    def mentions(names: set[str]) -> bool:
        return any(re.search(rf"\b{re.escape(n)}\b", added) for n in names)

    # A series that introduces a rule's new case (its `exists_if` names) is that rule's
    # subject; failing that, any rule whose predicates or forbidden uses the series touches.
    introducing = [r for r in rules if mentions({n for c in r.cases.values() for n in c.exists_if})]
    if introducing:
        return introducing
    return [r for r in rules if mentions(set(r.predicates) | set(r.forbidden))]


def audit_tree(
    series: Series,
    options: TreeOptions,
    applied: AppliedSeries | None = None,
    progress: Progress = NOTHING,
) -> TreeAudit:
    """Audit the contract rules over every state of the series: on `applied`, the series as
    this run applied it (shared with the builds), or else on an application of its own."""
    if applied is None:
        with AppliedSeries(series, options, strict=options.strict_apply, progress=progress) as own:
            return audit_tree(series, options, own, progress)
    stated = [r for r in options.rules if is_return_rule(r)]
    named = [r for r in options.rules if r not in stated]
    rules = choose_rules(series, named) if named or not stated else []
    contract_files = [load_return_rule(r) for r in stated]
    workspace, base = applied.workspace, applied.base
    index = NameIndex(workspace, base, options.cache_dir)
    steps = len(rules) * (len(series.patches) + 1) + (len(series.patches) if options.infer else 0)
    progress.start(ANALYSE, "tree states analysed", steps)
    with workspace.blobs() as blobs:
        context = Context()
        audits = tuple(
            _audit_rule(rule, workspace, base, applied.results(), index, blobs, context, progress)
            for rule in rules
        )
        inferred = infer_contracts(
            workspace,
            base,
            applied.results(),
            index,
            blobs,
            progress,
            infer=options.infer,
            stated=contract_files,
        )
    return TreeAudit(applied.state(), audits, inferred)


def patch_contracts(
    workspace: Workspace,
    base: str,
    applied: Iterator[Applied],
    blobs: BlobReader,
    parser: Parser,
    progress: Progress = NOTHING,
    *,
    infer: bool = True,
    skip: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[Contract], list[tuple[int, str]], dict[int, set[str]]]:
    """The return contracts each patch changes (none without `infer`; none for the functions
    in `skip`), the states (patch number, commit) from the base on, and the paths each patch
    changes."""
    states = [(0, base)]
    contracts: list[Contract] = []
    patch_paths: dict[int, set[str]] = {}
    for result in applied:
        number, commit = result.number, result.commit
        previous = states[-1][1]
        states.append((number, commit))
        progress.message(f"inferring return contracts: patch {number}")
        changed = workspace.changed_between(previous, commit)
        patch_paths[number] = set(changed)
        if not infer:
            progress.advance(ANALYSE, f"patch {number}")
            continue

        def reader(at: str) -> Callable[[str], bytes | None]:
            def read(path: str) -> bytes | None:
                found = blobs.read(at, path)
                return found[1] if found is not None else None

            return read

        known = {c.function: c.after for c in contracts}
        found = changed_contracts(number, changed, reader(previous), reader(commit), parser, known)
        found = [c for c in found if c.function not in skip]
        for contract in found:
            log.info("patch %d: %s", number, change_text(contract))
        contracts += found
        progress.advance(ANALYSE, f"inferred contracts: patch {number}")
    return contracts, states, patch_paths


def infer_series(
    series: Series, options: TreeOptions, progress: Progress = NOTHING
) -> tuple[list[Contract], TreeState]:
    """The return contracts the series changes, without auditing their callers (`reviewtool
    rule infer`), and how the series applied (a patch that did not apply changes nothing
    here, which its caller must say)."""
    with AppliedSeries(series, options, strict=options.strict_apply, progress=progress) as applied:
        progress.start(ANALYSE, "patches read", len(series.patches))
        with applied.workspace.blobs() as blobs:
            contracts, _, _ = patch_contracts(
                applied.workspace, applied.base, applied.results(), blobs, Parser(), progress
            )
        return contracts, applied.state()


def infer_contracts(
    workspace: Workspace,
    base: str,
    applied: Iterator[Applied],
    index: NameIndex,
    blobs: BlobReader,
    progress: Progress = NOTHING,
    *,
    infer: bool = True,
    stated: Sequence[tuple[str, list[Contract]]] = (),
) -> tuple[InferredAudit, ...]:
    """The return contracts each patch changes (with `infer`), and those rule files state, and
    their callers tree-wide: in the final state, and in the state the patch leaves when later
    patches follow (a caller a later patch converts is broken in between). A stated contract
    whose function no patch changes is compared with the base: what was unhandled there is
    pre-existing."""
    parser = Parser()
    named = {c.function for _, file_contracts in stated for c in file_contracts}
    contracts, states, patch_paths = patch_contracts(
        workspace, base, applied, blobs, parser, progress, infer=infer, skip=named
    )
    if not contracts and not stated:
        return ()
    commits = dict(states)
    final_number, final = states[-1]
    caches: dict[str, _Contents] = {}

    def contents(commit: str) -> _Contents:
        if commit not in caches:
            caches[commit] = _Contents(workspace, blobs)
            caches[commit].at(commit, set(workspace.changed_between(base, commit)))
        return caches[commit]

    def audit_at(commit: str, contract: Contract) -> tuple[ContractAudit, ...]:
        state = contents(commit)
        changed = state.changed_ids.keys()

        def files(names: set[str]) -> set[str]:
            key = frozenset(names)
            found = index.files(names) - set(changed)
            found |= {p for p in changed if p.endswith((".c", ".h")) and state.mentions(p, key)}
            return found

        def read(path: str) -> bytes | None:
            found = state.read(path)
            return found[1] if found is not None else None

        def converted(path: str, function: str) -> bool:
            """The caller's body differs from the state before the contract's patch."""
            if contract.patch < 1:
                return False
            before = blobs.read(commits[contract.patch - 1], path)
            after = read(path)
            if before is None or after is None:
                return False
            old = definitions(parser.parse(path, before[1])).get(function)
            new = definitions(parser.parse(path, after)).get(function)
            return old is None or new is None or old.node.text != new.node.text

        return tuple(audit_callers([contract], files, read, parser, converted))

    audits = []
    for contract in contracts:
        progress.message(f"auditing the callers of {contract.function}()")
        final_audits = audit_at(final, contract)
        at_patch = (
            audit_at(commits[contract.patch], contract) if contract.patch != final_number else ()
        )
        audits.append(InferredAudit(contract, final_audits, at_patch))
    for rule_id, file_contracts in stated:
        for contract in file_contracts:
            progress.message(f"{rule_id}: auditing the callers of {contract.function}()")
            final_audits = audit_at(final, contract)
            if contract.path in patch_paths.get(contract.patch, set()):
                at_patch = (
                    audit_at(commits[contract.patch], contract)
                    if contract.patch != final_number
                    else ()
                )
                audits.append(InferredAudit(contract, final_audits, at_patch, rule_id))
                continue
            before = {
                s.id for a in audit_at(base, replace(contract, patch=0)) for s in a.unhandled()
            }
            audits.append(
                InferredAudit(
                    replace(contract, patch=0), final_audits, (), rule_id, frozenset(before)
                )
            )
    return tuple(audits)


class _Contents:
    """File contents of the current state, read once per blob id."""

    def __init__(self, workspace: Workspace, blobs: BlobReader) -> None:
        self.workspace = workspace
        self.blobs = blobs
        self.commit = ""
        self.changed_ids: dict[str, str] = {}
        self.by_blob: dict[str, bytes] = {}
        self.masked_by_blob: dict[str, bytes] = {}
        self.mentioned: dict[tuple[str, frozenset[str]], bool] = {}
        self.base_ids: dict[str, str] = {}

    def at(self, commit: str, changed: set[str]) -> None:
        self.commit = commit
        ids = self.workspace.blob_ids(commit, sorted(changed)) if changed else {}
        self.changed_ids = {path: ids.get(path, "") for path in changed}

    def read(self, path: str) -> tuple[str, bytes] | None:
        blob = self.changed_ids.get(path) if path in self.changed_ids else self.base_ids.get(path)
        if blob == "":
            return None  # deleted in this state
        if blob is not None and blob in self.by_blob:
            return blob, self.by_blob[blob]
        found = self.blobs.read(self.commit, path)
        if found is None:
            return None
        blob, content = found
        if path not in self.changed_ids:
            self.base_ids[path] = blob
        self.by_blob[blob] = content
        return blob, content

    def mentions(self, path: str, names: frozenset[str]) -> bool:
        """Whether the file of this state mentions any of names (outside comments, strings)."""
        found = self.read(path)
        if found is None:
            return False
        key = (found[0], names)
        if key not in self.mentioned:
            masked = self.masked(path) or b""
            pattern = names_pattern(names)
            self.mentioned[key] = pattern.search(masked) is not None
        return self.mentioned[key]

    def masked(self, path: str) -> bytes | None:
        found = self.read(path)
        if found is None:
            return None
        blob, content = found
        if blob not in self.masked_by_blob:
            self.masked_by_blob[blob] = mask_comments_and_strings(content)
        return self.masked_by_blob[blob]


def _audit_rule(
    rule: ContractRule,
    workspace: Workspace,
    base: str,
    applied: Iterator[Applied],
    index: NameIndex,
    blobs: BlobReader,
    context: Context | None = None,
    progress: Progress = NOTHING,
) -> RuleAudit:
    auditor = Auditor(rule, context)
    names = set(rule.search_names)
    numbers: list[int] = []
    audits: list[StateAudit] = []
    contents = _Contents(workspace, blobs)
    kconfig_files = _kconfig_files(workspace, base) if rule.configs else []
    kconfig: Kconfig | None = None
    states = itertools.chain([(0, base)], ((a.number, a.commit) for a in applied))
    for number, commit in states:
        progress.message(f"{rule.id}: analysing the tree after patch {number}")
        numbers.append(number)
        changed = set(workspace.changed_between(base, commit)) if number else set()
        contents.at(commit, changed)
        if kconfig_files or any(is_kconfig(p) for p in changed):
            paths = sorted({*kconfig_files, *(p for p in changed if is_kconfig(p))})
            kconfig = _kconfig(contents, paths, auditor.context.kconfig, index.cache_dir)[0]

        def candidates(wanted: set[str], changed: set[str] = changed) -> set[str]:
            found = index.files(wanted) - changed
            key = frozenset(wanted)
            for path in changed:
                if path.endswith((".c", ".h")) and contents.mentions(path, key):
                    found.add(path)
            return found

        audit = auditor.audit(candidates(names), contents.read, candidates, kconfig)
        log.info(
            "rule %s, state %d: %d sites in %d files",
            rule.id,
            number,
            len(audit.sites),
            audit.files,
        )
        audits.append(audit)
        progress.advance(ANALYSE, f"{rule.id}: patch {number}")
    deltas = []
    introduced: dict[str, int] = {}
    for site in audits[0].sites:
        if site.verdict == "unhandled":
            introduced[site.id] = 0
    for number, before, after in zip(numbers[1:], audits, audits[1:], strict=False):
        old, new = before.by_id(), after.by_id()
        unhandled = tuple(
            sorted(
                i
                for i, s in new.items()
                if s.verdict == "unhandled" and (i not in old or old[i].verdict != "unhandled")
            )
        )
        resolved = tuple(
            sorted(
                i
                for i, s in old.items()
                if s.verdict == "unhandled" and (i not in new or new[i].verdict != "unhandled")
            )
        )
        for site_id in unhandled:
            introduced[site_id] = number
        for site_id in resolved:
            introduced.pop(site_id, None)
        deltas.append(PatchDelta(number, unhandled, resolved))
    return RuleAudit(
        rule, audits[0], audits[-1], tuple(deltas), introduced, cause_history(numbers, audits)
    )


def cause_history(numbers: list[int], audits: list[StateAudit]) -> tuple[CauseStatus, ...]:
    """Each root cause of the final state with the patch that made or last changed it: a cause
    absent from the state before a patch is that patch's; one whose functions a patch changed
    while it stayed is that patch's too (the first such patch); one that was at the base and
    that no patch touched is pre-existing."""
    made: dict[str, tuple[str, int]] = {}
    for number, before, after in zip(numbers[1:], audits, audits[1:], strict=False):
        old = {c.id: c for c in before.causes}
        for cause in after.causes:
            previous = old.get(cause.id)
            if previous is None:
                made[cause.id] = ("new", number)
            elif previous.digest != cause.digest and cause.id not in made:
                made[cause.id] = ("changed", number)
        current = {c.id for c in after.causes}
        for cause_id in [c for c in made if c not in current]:
            del made[cause_id]
    result = []
    for cause in audits[-1].causes:
        status, patch = made.get(cause.id, ("preexisting", 0))
        result.append(CauseStatus(cause, status, patch or None))
    return tuple(result)


def _kconfig_files(workspace: Workspace, base: str) -> list[str]:
    listing = workspace.git("ls-tree", "-r", "--name-only", base, "--", *KCONFIG_PATHS)
    return [p for p in listing.stdout.decode("utf-8", "replace").splitlines() if is_kconfig(p)]


def _kconfig(
    contents: _Contents,
    paths: list[str],
    models: dict[tuple[str, ...], Kconfig],
    cache_dir: Path | None = None,
) -> tuple[Kconfig, tuple[str, ...]]:
    """The Kconfig model of this state, built once per set of Kconfig file versions (and kept
    on disk, by those versions, in the cache directory)."""
    found = {path: contents.read(path) for path in paths}
    blobs = tuple(f[0] for f in found.values() if f is not None)
    if blobs in models:
        return models[blobs], blobs
    digest = hashlib.sha1("\0".join(blobs).encode()).hexdigest()
    cached = cache_dir / "kconfig" / f"{digest}.json" if cache_dir is not None else None
    model = Kconfig.load(cached) if cached is not None else None
    if model is None:
        model = Kconfig(
            {path: f[1].decode("utf-8", "replace") for path, f in found.items() if f is not None}
        )
        if cached is not None:
            model.save(cached)
    models[blobs] = model
    return model, blobs


KCONFIG_PATHS = ("Kconfig", "arch", "init", "mm", "kernel", "lib", "fs", "security", "block")

TREE_RULES = (
    Rule(
        "apply-failed",
        Severity.ERROR,
        "a patch does not apply to the tree (hunk and reason)",
        RuleKind.TREE,
    ),
    Rule(
        "apply-fuzzy",
        Severity.NOTE,
        "a patch applied only by 3-way merge or reduced context",
        RuleKind.TREE,
    ),
    Rule(
        "tree-partial",
        Severity.NOTE,
        "later patches are analysed on a partially applied series",
        RuleKind.TREE,
    ),
)


def contract_rule(rule: ContractRule) -> Rule:
    return Rule(rule.id, Severity(rule.severity), rule.title, RuleKind.CONTRACT)


def tree_findings(audit: TreeAudit) -> list[Finding]:
    """Findings of tree mode: what did not apply, and one per root cause the series made or
    changed (warnings; latent ones, which need an option no architecture enables with the
    code, are notes), plus one note per rule counting what was unhandled before the series."""
    findings: list[Finding] = []
    for applied in audit.state.applied:
        for failure in applied.failures:
            findings.append(
                Finding(
                    rule="apply-failed",
                    severity=Severity.ERROR,
                    message=f"{failure.describe()}; the rest of the patch was applied",
                    patch=applied.number,
                    path=failure.path,
                    line=failure.line or None,
                    key=f"{failure.path}#{failure.hunk}",
                )
            )
        if applied.status == "fuzzy":
            findings.append(_fuzzy_finding(applied))
    partial = audit.state.partial_from
    if partial is not None and partial < len(audit.state.applied):
        findings.append(
            Finding(
                rule="tree-partial",
                severity=Severity.NOTE,
                message=f"patch {partial} applied only in part: the states after it are analysed "
                "on a partially applied series",
                patch=partial,
                key=str(partial),
            )
        )
    for rule_audit in audit.audits:
        findings += _cause_findings(rule_audit)
    for inferred in audit.inferred:
        findings += inferred_findings(inferred)
    return findings


INFERRED_RULE = Rule(
    "inferred-contract",
    Severity.WARNING,
    "a caller of a function whose return contract a patch changes (inferred from the series, "
    "no rule file) does not handle the new values",
    RuleKind.CONTRACT,
)


def return_rules(audit: TreeAudit) -> tuple[Rule, ...]:
    """The rules of the return contracts audited: inferred ones, and each rule file's."""
    found: dict[str, Rule] = {}
    for inferred in audit.inferred:
        if not inferred.rule:
            found[INFERRED_RULE.id] = INFERRED_RULE
        elif inferred.rule not in found:
            summary = (
                f"a caller does not handle the return contract of {inferred.contract.function}()"
            )
            found[inferred.rule] = Rule(inferred.rule, Severity.WARNING, summary, RuleKind.CONTRACT)
    return tuple(found.values())


def inferred_findings(inferred: InferredAudit) -> list[Finding]:
    """One note per contract (what changed, how many callers were read), a warning per caller
    that does not handle it in the final state (for a contract a rule file states about a
    function no patch changes: per caller the series made so), and a note per caller broken
    only until a later patch converts it."""
    contract = inferred.contract
    rule = inferred.rule or INFERRED_RULE.id
    patch = contract.patch or None
    if inferred.rule:
        origin = None
        mark = f"[contract from rule {inferred.rule}: {contract.function}()]"
    else:
        origin = Inferred(contract.patch, contract.function, contract.path, change_text(contract))
        mark = (
            f"[contract inferred from patch {contract.patch}: {contract.function}() in "
            f"{contract.path}]"
        )
    sites = [s for a in inferred.final for s in a.sites]
    unhandled = [(c, s) for c, s in inferred.unhandled() if s.id not in inferred.preexisting]
    before = len(inferred.unhandled()) - len(unhandled)
    wrappers = [a.contract.function for a in inferred.final[1:]]
    files = sum(a.files for a in inferred.final)
    summary = (
        f"{'inferred contract' if not inferred.rule else f'contract of rule {inferred.rule}'}: "
        f"{change_text(contract)}; {len(sites)} call site{'s' if len(sites) != 1 else ''} in "
        f"{files} file{'s' if files != 1 else ''} read"
    )
    if wrappers:
        shown = ", ".join(f"{w}()" for w in wrappers[:5])
        more = f" and {len(wrappers) - 5} more" if len(wrappers) > 5 else ""
        plural = "s" if len(wrappers) > 1 else ""
        summary += f", through the pass-through wrapper{plural} {shown}{more}"
    summary += f"; {len(unhandled)} unhandled"
    if before:
        summary += f", {before} more unhandled before the series (left alone)"
    findings = [
        Finding(
            rule=rule,
            severity=Severity.NOTE,
            message=summary,
            patch=patch,
            path=contract.path or None,
            function=contract.function,
            key=f"contract:{contract.function}",
            inferred=origin,
        )
    ]
    for wrapped, site in unhandled:
        findings.append(
            _caller_finding(rule, wrapped, site, patch, origin, mark, Severity.WARNING, "")
        )
    final_ids = {s.id for _, s in inferred.unhandled()}
    for audit in inferred.at_patch:
        for site in audit.unhandled():
            if site.id in final_ids:
                continue
            suffix = " (a later patch of the series converts it: the series does not bisect here)"
            findings.append(
                _caller_finding(
                    rule, audit.contract, site, patch, origin, mark, Severity.NOTE, suffix
                )
            )
    return findings


def _caller_finding(
    rule: str,
    wrapped: Contract,
    site: CallerSite,
    patch: int | None,
    origin: Inferred | None,
    mark: str,
    severity: Severity,
    suffix: str,
) -> Finding:
    chain = ", which returns ".join(f"{w}()" for w in (wrapped.function, *wrapped.via[::-1]))
    through = f" ({chain}'s result)" if wrapped.via else ""
    message = (
        f"{site.text} in {site.function}(): {site.how}; {change_text(wrapped)}{through}{suffix} "
        f"{mark}"
    )
    evidence = tuple(
        Location(site.path, step.line, f"{step.text}: {step.note}") for step in site.evidence
    )
    related = tuple(
        Location(site.path, step.line, f"{step.text}: {step.note}") for step in site.related
    )
    return Finding(
        rule=rule,
        severity=severity,
        message=message,
        patch=patch,
        path=site.path,
        line=site.anchor.line if site.anchor is not None else site.line,
        column=None if site.anchor is not None else site.column,
        function=site.function,
        key=f"{wrapped.function}:{site.text}",
        evidence=evidence,
        related=related,
        inferred=origin,
    )


def _fuzzy_finding(applied: Applied) -> Finding:
    """A patch that applied only with help: which hunks needed it, how, and why."""
    hunks = applied.assisted
    message = f"applied by {applied.method}, not cleanly"
    if hunks:
        named = "; ".join(h.describe() for h in hunks)
        message += f": {named}"
    first = hunks[0] if hunks else None
    return Finding(
        rule="apply-fuzzy",
        severity=Severity.NOTE,
        message=message,
        patch=applied.number,
        path=first.path if first else None,
        line=(first.line or None) if first else None,
        key="|".join((applied.method, *(f"{h.path}#{h.hunk}" for h in hunks))),
        evidence=tuple(
            Location(h.path, h.line or None, f"hunk {h.hunk}: {h.reason}") for h in hunks
        ),
    )


def _cause_findings(rule_audit: RuleAudit) -> list[Finding]:
    rule = rule_audit.rule
    findings = []
    for status in rule_audit.causes_with("new", "changed"):
        cause = status.cause
        anchor = cause.anchor
        latent = cause.verdict == "latent"
        message = f"{anchor.api}({anchor.argument}) in {anchor.function}(): {anchor.how}"
        if status.status == "changed":
            message += " (unhandled before the series; this patch changes the code)"
        further = cause.further
        if further:
            uses = ", ".join(f"{s.function}() {s.path}:{s.line}" for s in further[:3])
            more = f" and {len(further) - 3} more" if len(further) > 3 else ""
            message += (
                f"; and {len(further)} further use{'s' if len(further) > 1 else ''} of the same "
                f"value: {uses}{more}"
            )
        related = tuple(
            Location(s.path, s.line, f"{s.api}({s.argument}) in {s.function}(): {s.how}")
            for s in further
        )
        findings.append(
            Finding(
                rule=rule.id,
                severity=Severity.NOTE if latent else Severity(rule.severity),
                message=message,
                patch=status.patch,
                path=anchor.path,
                line=anchor.line,
                column=anchor.column or None,
                function=anchor.function or None,
                key=f"{anchor.api}({anchor.argument})",
                evidence=anchor.evidence,
                context=anchor.excerpt,
                related=related,
            )
        )
    preexisting = rule_audit.causes_with("preexisting")
    if preexisting:
        dormant = sum(1 for c in preexisting if c.cause.verdict == "latent")
        kinds = " and ".join(
            f"{n} {kind}"
            for n, kind in ((len(preexisting) - dormant, "unhandled"), (dormant, "latent"))
            if n
        )
        findings.append(
            Finding(
                rule=rule.id,
                severity=Severity.NOTE,
                message=(
                    f"{kinds} root cause{'s' if len(preexisting) > 1 else ''} were there before "
                    "the series, which leaves them alone (the JSON report lists them under "
                    "`preexisting`)"
                ),
                key="preexisting",
                evidence=tuple(
                    Location(
                        c.cause.anchor.path,
                        c.cause.anchor.line,
                        f"{c.cause.verdict}: {c.cause.anchor.api}({c.cause.anchor.argument}) in "
                        f"{c.cause.anchor.function}()",
                    )
                    for c in preexisting
                ),
            )
        )
    return findings


def audit_revision(
    tree: Path, rev: str, rules: Sequence[ContractRule], cache_dir: Path | None
) -> list[StateAudit]:
    """Audit one revision of a tree (no series): the whole-tree inventory and verdicts."""
    with Workspace(tree) as workspace:
        commit = workspace.resolve(rev)
        if commit is None:
            raise ToolchainError(f"{tree}: {rev} is not a commit")
        index = NameIndex(workspace, commit, cache_dir)
        results = []
        with workspace.blobs() as blobs:
            contents = _Contents(workspace, blobs)
            contents.at(commit, set())
            kconfig = None
            context = Context()
            if any(rule.configs for rule in rules):
                kconfig, _ = _kconfig(
                    contents, _kconfig_files(workspace, commit), context.kconfig, cache_dir
                )
            for rule in rules:
                names = set(rule.search_names)
                results.append(
                    Auditor(rule, context).audit(
                        index.files(names),
                        contents.read,
                        index.files,
                        kconfig if rule.configs else None,
                    )
                )
        return results
