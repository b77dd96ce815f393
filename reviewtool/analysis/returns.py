"""What a function's result says about its arguments.

A function's return statements are summarised per kind of returned value (a constant such as
`0`, `-EIO` or `NULL`, "nonzero", or "any" value), each with the cases the function's
parameter-rooted values were in on the paths that return it. A caller that tests the result
(`if (!si)`, `if (ret == -EIO)`, `if (ret < 0)`) then keeps, for the values it passed, only the
cases of the returns that test can select. This is how `si = get_swap_device(entry); if (!si)
return;` leaves only genuine swap entries, and how `copy_nonpresent_pte()` returning -EIO tells
its caller the pte held a genuine swap entry.

The same summaries come from rule files for functions whose bodies are not visible
(`[results]` in queries/rules/FORMAT.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# errno names that are aliases of one another (include/uapi/asm-generic/errno.h)
_ERRNO_ALIAS = {"EWOULDBLOCK": "EAGAIN", "EDEADLOCK": "EDEADLK"}
_ERRNO = re.compile(r"-\s*(E[A-Z0-9]+)")
_NUMBER = re.compile(r"-?\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*")
_NAMED = re.compile(r"[A-Z][A-Z0-9_]*")
_FALSE = {"0", "NULL", "false"}


@dataclass(frozen=True, order=True)
class Kind:
    """An abstract returned value: `const` (its text: `0`, `-EIO`, `NULL`, `true`, `VM_FAULT_OOM`),
    `nonzero` (any value but zero or NULL), or `any`."""

    kind: str
    value: str = ""

    def __str__(self) -> str:
        return self.value if self.kind == "const" else self.kind

    @property
    def errno(self) -> str | None:
        match = _ERRNO.fullmatch(self.value) if self.kind == "const" else None
        return _ERRNO_ALIAS.get(match.group(1), match.group(1)) if match else None

    @property
    def number(self) -> int | None:
        if self.kind != "const":
            return None
        if self.value in _FALSE:
            return 0
        if self.value == "true":
            return 1
        match = _NUMBER.fullmatch(self.value)
        if match is None:
            return None
        number = int(match.group(1), 0)
        return -number if self.value.lstrip().startswith("-") else number


ANY = Kind("any")
NONZERO = Kind("nonzero")
ZERO = Kind("const", "0")


def constant(text: str) -> Kind | None:
    """The kind of a C constant expression, or None when it is not one."""
    text = re.sub(r"\s+", "", text)
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if text in ("NULL", "true", "false"):
        return Kind("const", text)
    if _ERRNO.fullmatch(text) or _NUMBER.fullmatch(text) or _NAMED.fullmatch(text):
        return Kind("const", text)
    return None


def truth(kind: Kind) -> frozenset[bool]:
    """The truth values `if (x)` may see for x of this kind."""
    if kind.kind == "nonzero" or kind.errno is not None:
        return frozenset({True})
    number = kind.number
    if number is not None:
        return frozenset({number != 0})
    return frozenset({True, False})


def compare(kind: Kind, operator: str, operand: Kind) -> frozenset[bool]:
    """The outcomes `x OP operand` may have for x of this kind."""
    negations = {"!=": "==", ">=": "<", "<=": ">"}
    if operator in negations:
        return frozenset(not outcome for outcome in compare(kind, negations[operator], operand))
    if operator == "==":
        return _equal(kind, operand)
    if operator in ("<", ">") and operand.number == 0:
        if kind.errno is not None:
            return frozenset({operator == "<"})
        number = kind.number
        if number is not None:
            return frozenset({number < 0 if operator == "<" else number > 0})
    return frozenset({True, False})


def _equal(kind: Kind, operand: Kind) -> frozenset[bool]:
    both = frozenset({True, False})
    if kind.kind == "any":
        return both
    if kind.kind == "nonzero":
        return frozenset({False}) if operand.number == 0 else both
    left_errno, right_errno = kind.errno, operand.errno
    if left_errno is not None and right_errno is not None:
        return frozenset({left_errno == right_errno})
    left, right = kind.number, operand.number
    if left is not None and right is not None:
        return frozenset({left == right})
    if (left_errno is not None and right == 0) or (right_errno is not None and left == 0):
        return frozenset({False})
    if kind.value == operand.value:
        return frozenset({True})
    return both


@dataclass(frozen=True)
class ResultSummary:
    """Per kind of returned value, the cases of the function's parameter-rooted values (keys
    spelled with parameter names) on the paths returning it; a key a return leaves unconstrained
    is absent from that return's entry."""

    function: str
    file: str
    parameters: tuple[str, ...]  # the function's parameter names, in order
    returns: tuple[tuple[Kind, tuple[tuple[str, frozenset[str]], ...]], ...]
    stated: bool = False  # from a rule file, not derived from a body

    def allowed(
        self, outcome: Callable[[Kind], frozenset[bool]], wanted: bool
    ) -> dict[str, frozenset[str] | None]:
        """For each key, the cases the returns the test can select allow (None: any case)."""
        keys = {key for _, entries in self.returns for key, _ in entries}
        allowed: dict[str, frozenset[str] | None] = {}
        for key in keys:
            union: frozenset[str] | None = frozenset()
            for kind, entries in self.returns:
                if wanted not in outcome(kind):
                    continue
                cases = dict(entries).get(key)
                union = None if cases is None or union is None else union | cases
            allowed[key] = union
        return allowed

    @property
    def informative(self) -> bool:
        """Whether some test of the result can narrow some key."""
        keys = {key for _, entries in self.returns for key, _ in entries}
        for key in keys:
            seen = {dict(entries).get(key) for _, entries in self.returns}
            if len(seen) > 1:
                return True
        return False


def summarise(
    function: str,
    file: str,
    parameters: Iterable[str],
    returns: Iterable[tuple[frozenset[Kind], Mapping[str, frozenset[str]]]],
) -> ResultSummary:
    """Merge the return statements of one function into its summary. A key that some return
    of a kind leaves unconstrained is unconstrained for that kind."""
    by_kind: dict[Kind, dict[str, frozenset[str]]] = {}
    for kinds, cases in returns:
        for kind in kinds:
            known = by_kind.get(kind)
            by_kind[kind] = (
                dict(cases)
                if known is None
                else {key: known[key] | cases[key] for key in known.keys() & cases.keys()}
            )
    return ResultSummary(
        function,
        file,
        tuple(parameters),
        tuple((kind, tuple(sorted(entry.items()))) for kind, entry in sorted(by_kind.items())),
    )
