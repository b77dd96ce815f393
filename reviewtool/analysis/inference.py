"""Contracts inferred from the series: the functions whose return contract a patch changes, and
every caller of them tree-wide, with no rule file.

For each patch, the functions whose text it changes are summarised before and after it
(reviewtool/analysis/contracts.py): a kind of value they can now return (NULL where it was an
`ERR_PTR`, an `ERR_PTR` where it was NULL, a new errno or enum constant), or a changed meaning
of success (`int` with 0 for success becomes `bool` with `true`), is an inferred contract. Its
callers are found by name in the tree after the patch and read by
reviewtool/analysis/callers.py. A caller that returns the value as it is, before any test, is a
pass-through wrapper (a static inline in a header, a derived pointer such as `&folio->page`):
it gets the contract its body makes of the callee's, and its callers are audited in turn, to a
fixpoint. A wrapper that returns a callee's flipped result from a function of the other kind
(an `int` that returns a `bool`'s `true` beside its own `-EBUSY`) is itself the finding.

Not a change: a kind the body returned before through a value the summary could not read
(`unknown`: a callee whose body is not in the file may have returned it), an errno that
`-E*` (any errno) already covered, or `unknown` appearing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reviewtool.analysis.callers import (
    CallerAnalysis,
    CallerSite,
    Contract,
    dereferenced_parameters,
)
from reviewtool.analysis.contracts import (
    ANY_ERRNO,
    ReturnKind,
    ReturnSummary,
    ReturnType,
    describe,
    return_type,
    summarise,
)
from reviewtool.analysis.csource import CALLED, Function, ParsedFile, parse_file

if TYPE_CHECKING:
    import tree_sitter

log = logging.getLogger(__name__)

_MAX_WRAPPERS = 40
_MAX_DEPTH = 4
_FLIPS = {frozenset({"int", "bool"})}
ANY_INT_ERRNO = ReturnKind("int", ANY_ERRNO)


class Parser:
    """Parsed files, once per content."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, str], ParsedFile] = {}

    def parse(self, path: str, content: bytes) -> ParsedFile:
        key = (path, hashlib.sha1(content).hexdigest())
        if key not in self._parsed:
            self._parsed[key] = parse_file(path, content)
        return self._parsed[key]


def definitions(parsed: ParsedFile) -> dict[str, Function]:
    """The functions a file defines, by name (the first definition of a name)."""
    found: dict[str, Function] = {}
    for function in parsed.functions:
        found.setdefault(function.name, function)
    return found


def _text(function: Function) -> bytes:
    return function.node.text or b""


def _callees(function: Function) -> set[str]:
    return {m.decode() for m in CALLED.findall(_text(function))}


def _closure(
    names: Iterable[str], functions: Mapping[str, Function]
) -> dict[str, tree_sitter.Node]:
    """The functions named and the functions of the same file they call, transitively."""
    wanted = [n for n in names if n in functions]
    chosen: dict[str, tree_sitter.Node] = {}
    while wanted:
        name = wanted.pop()
        if name in chosen or len(chosen) > 200:
            continue
        chosen[name] = functions[name].node
        wanted += [c for c in _callees(functions[name]) if c in functions and c not in chosen]
    return chosen


def added_kinds(
    before: frozenset[ReturnKind], after: frozenset[ReturnKind]
) -> frozenset[ReturnKind]:
    """What a function can return after a change that it could not before: not `unknown`, not
    an errno `-E*` covered, and, where the body returned something it could not read before,
    no errno or constant that value may have been."""
    added = set(after - before)
    added.discard(ReturnKind("unknown"))
    unread = ReturnKind("unknown") in before
    for kind in list(added):
        covered = (
            (kind.kind == "errptr" and ReturnKind("errptr", ANY_ERRNO) in before)
            or (kind.kind == "int" and kind.value.startswith("-") and ANY_INT_ERRNO in before)
            or (unread and kind.kind in ("int", "enum"))
        )
        if covered:
            added.discard(kind)
    return frozenset(added)


def _flipped(type_before: ReturnType, type_after: ReturnType) -> bool:
    return frozenset({type_before.kind, type_after.kind}) in _FLIPS


def changed_contracts(
    patch: int,
    paths: Iterable[str],
    read_before: Callable[[str], bytes | None],
    read_after: Callable[[str], bytes | None],
    parser: Parser,
    known: Mapping[str, frozenset[ReturnKind]] | None = None,
) -> list[Contract]:
    """The functions whose return contract the patch (from `read_before` to `read_after`)
    changes, over the C files it touches. `known` gives the contracts of functions of other
    files (those earlier patches changed), for the calls whose result is returned."""
    contracts: list[Contract] = []
    for path in sorted(paths):
        if not path.endswith((".c", ".h")):
            continue
        old_source, new_source = read_before(path), read_after(path)
        if old_source is None or new_source is None:
            continue
        old, new = (
            definitions(parser.parse(path, old_source)),
            definitions(parser.parse(path, new_source)),
        )
        changed = [n for n, f in new.items() if n in old and _text(old[n]) != _text(f)]
        if not changed:
            continue
        before = summarise(_closure(changed, old), known)
        after = summarise(_closure(changed, new), known)
        for name in changed:
            type_before, type_after = return_type(old[name].node), return_type(new[name].node)
            if type_after.kind == "void" or type_before.kind == "void":
                continue
            flipped = _flipped(type_before, type_after)
            if not flipped and type_before.kind != type_after.kind:
                continue
            if not flipped and not added_kinds(before[name], after[name]):
                continue
            contracts.append(
                Contract(
                    name,
                    path,
                    patch,
                    before[name],
                    after[name],
                    type_before,
                    type_after,
                    origin=name,
                    origin_path=path,
                )
            )
    return contracts


def change_text(contract: Contract) -> str:
    """`__filemap_get_folio() can now return ERR_PTR(-ENOENT)` for a report."""
    if contract.flipped:
        return (
            f"{contract.function}() now returns {contract.type_after.text} "
            f"({describe(contract.after)}), was {contract.type_before.text} "
            f"({describe(contract.before)})"
        )
    added = added_kinds(contract.before, contract.after)
    return (
        f"{contract.function}() can now return {describe(added)}, was {describe(contract.before)}"
    )


@dataclass
class ContractAudit:
    """One inferred contract and its callers in one tree state."""

    contract: Contract
    sites: list[CallerSite] = field(default_factory=list)
    wrappers: list[Contract] = field(default_factory=list)
    files: int = 0

    def unhandled(self) -> list[CallerSite]:
        return [s for s in self.sites if s.verdict == "unhandled"]


def audit_callers(
    contracts: list[Contract],
    files: Callable[[set[str]], set[str]],
    read: Callable[[str], bytes | None],
    parser: Parser,
    converted: Callable[[str, str], bool] = lambda path, function: False,
) -> list[ContractAudit]:
    """Every caller of each contract's function in one tree state, with the pass-through
    wrappers' callers, to a fixpoint."""
    audits: list[ContractAudit] = []
    queue = list(contracts)
    seen = {c.function for c in contracts}
    wrappers = 0
    while queue:
        contract = queue.pop(0)
        audit = ContractAudit(contract)
        audits.append(audit)
        for path in sorted(files({contract.function})):
            content = read(path)
            if content is None or not path.endswith((".c", ".h")):
                continue
            parsed = parser.parse(path, content)
            if contract.function.encode() not in parsed.masked:
                continue
            audit.files += 1
            defined = definitions(parsed)
            for function in parsed.functions:
                if function.name == contract.function:
                    continue
                if contract.function.encode() not in _text(function):
                    continue
                callees = _callees(function)
                if contract.function not in callees:
                    continue
                derefs = {
                    name: dereferenced_parameters(defined[name].node)
                    for name in callees
                    if name in defined and name != function.name
                }
                analysis = CallerAnalysis(
                    function.node, function.name, path, {contract.function: contract}, derefs
                )
                analysis.run()
                for site in analysis.finish():
                    if contract.flipped and converted(path, function.name):
                        site.verdict, site.reason = "handled", "converted"
                        site.how = "the series changes this caller: converted to the new meaning"
                    elif site.verdict == "passes-on":
                        wrapper = _wrapper(contract, function, path, site)
                        if (
                            wrapper is not None
                            and function.name not in seen
                            and len(wrapper.via) <= _MAX_DEPTH
                            and wrappers < _MAX_WRAPPERS
                        ):
                            seen.add(function.name)
                            wrappers += 1
                            audit.wrappers.append(wrapper)
                            queue.append(wrapper)
                    audit.sites.append(site)
    return audits


def _wrapper(
    contract: Contract, function: Function, path: str, site: CallerSite
) -> Contract | None:
    """The contract a pass-through wrapper gets from its callee's (None: its own is the same);
    a wrapper of the other kind of a flipped result is made the finding instead."""
    own = return_type(function.node)
    if own.kind == "void":
        return None
    if contract.flipped and own.kind != contract.type_after.kind:
        site.verdict, site.reason = "unhandled", "returns"
        site.how = (
            f"returns {contract.function}()'s {contract.type_after.text} result "
            f"({describe(contract.after)}) as its own {own.text}, whose callers read it as "
            f"{contract.type_before.text} ({describe(contract.before)})"
        )
        return None
    before = ReturnSummary(function.node, {contract.function: contract.before}).kinds()
    after = ReturnSummary(function.node, {contract.function: contract.after}).kinds()
    if not contract.flipped and not added_kinds(before, after):
        return None
    type_before = own
    if contract.flipped:
        type_before = ReturnType(contract.type_before.kind, contract.type_before.text)
    return Contract(
        function.name, path, contract.patch, before, after, type_before, own,
        origin=contract.origin, origin_path=contract.origin_path,
        via=(*contract.via, contract.function),
    )  # fmt: skip
