"""What the callers of a function do with its result, read against a changed return contract.

Every call of a watched function starts a value that carries two sets of tokens: the kinds the
function returned before the change (the *old* world, which the caller was written for) and the
kinds it returns after it (the *new* world). Each token has a meaning: success, failure or
neutral (an enum constant, a value the body does not say). Every test of the value (`!p`,
`p == NULL`, `IS_ERR(p)`, `IS_ERR_OR_NULL(p)`, `PTR_ERR_OR_ZERO(p)`, `ret < 0`,
`ret == -EAGAIN`, `if (ret)`, `switch (ret)`, through `likely()`, `WARN_ON()` and copies)
narrows both sets alike, so at every point of a path the old tokens left say what the caller
believes the value is there, and the new tokens what it can now be.

A call site is unhandled when, on some path, a token the caller was not written for (a kind the
change added; every kind, when the change flipped the meaning of success) reaches:
- the end of a branch, or of the path, that the caller's tests made a success-only place (its
  old tokens left are all success) while the token means failure, or a failure-only place while
  it means success: the test that let it through is the finding's anchor;
- a dereference (`p->x`, `*p`, `p[i]`) or a call of a function of the same file that
  dereferences that parameter, while it is NULL or an error pointer;
- a `switch` with no `default` that names every old kind but not it.

A value returned as it is (`return f(...)`, `return p`, `return &p->member`) before any test
passes the contract on: the function is a pass-through wrapper, whose own callers are audited
in turn (reviewtool/analysis/inference.py decides). A value the caller ignores or stores away
is handled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from reviewtool.analysis.contracts import (
    ANY_ERRNO,
    NULL,
    POINTER,
    UNKNOWN,
    ReturnKind,
    ReturnType,
)
from reviewtool.analysis.csyntax import (
    call_arguments,
    callee_name,
    comma_parts,
    declared_name,
    line_of,
    node_text,
    operator_of,
    unwrap,
)

if TYPE_CHECKING:
    import tree_sitter

SUCCESS, FAILURE, NEUTRAL = "success", "failure", "neutral"
_TRANSPARENT = {
    "likely": 0, "unlikely": 0, "WARN_ON": 0, "WARN_ON_ONCE": 0, "WARN": 0, "WARN_ONCE": 0,
    "VM_WARN_ON": 0, "VM_WARN_ON_ONCE": 0, "VM_BUG_ON": 0, "BUG_ON": 0,
    "WARN_RATELIMIT": 0, "unlikely_notrace": 0,
}  # fmt: skip
_ERRNO = re.compile(r"-\s*(E[A-Z0-9]+)")
_NUMBER = re.compile(r"(-?)\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*")
_ENUM = re.compile(r"[A-Z][A-Z0-9_]*")
_COMPARISONS = ("==", "!=", "<", ">", "<=", ">=")
# calls whose argument is not a use of the value as a valid one: tests, error decoders, casts
_NOT_USES = frozenset(
    {"IS_ERR", "IS_ERR_OR_NULL", "IS_ERR_VALUE", "PTR_ERR", "PTR_ERR_OR_ZERO", "ERR_CAST",
     "xa_is_value", "xa_is_err", "likely", "unlikely", "WARN_ON", "WARN_ON_ONCE", "WARN",
     "WARN_ONCE", "BUG_ON", "VM_BUG_ON", "VM_WARN_ON", "VM_WARN_ON_ONCE", "WARN_RATELIMIT",
     "pr_debug", "pr_info", "pr_warn", "pr_err", "printk", "trace_printk", "sizeof", "typeof",
     "READ_ONCE", "WRITE_ONCE"}
)  # fmt: skip
_MIRROR = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_BOTH = frozenset({True, False})


def meaning(kind: ReturnKind, rtype: ReturnType, kinds: frozenset[ReturnKind]) -> str:
    """What a returned kind means to a caller: `success`, `failure` or `neutral`."""
    if kind.kind in ("null", "errptr"):
        return FAILURE
    if kind.kind == "pointer":
        return SUCCESS
    if kind.kind == "unknown":
        return SUCCESS if rtype.kind == "pointer" else NEUTRAL
    if kind.kind == "bool":
        return SUCCESS if kind.value == "true" else FAILURE
    if kind.kind == "int":
        if kind.value.startswith("-"):
            return FAILURE
        errors = any(k.kind == "int" and k.value.startswith("-") for k in kinds)
        return SUCCESS if errors else NEUTRAL
    return NEUTRAL


@dataclass(frozen=True, order=True)
class Token:
    """A kind of value in one world: `new` (after the change) or old (before it). `changed`
    marks the new-world values the caller was not written for."""

    new: bool
    kind: ReturnKind
    meaning: str
    changed: bool = False

    def __str__(self) -> str:
        names = {"pointer": "a valid pointer", "null": "NULL", "unknown": "a value"}
        return names.get(self.kind.kind, str(self.kind))


@dataclass(frozen=True)
class Contract:
    """A function's return contract before and after a patch: the kinds and types. `origin`
    is the function whose change this is (a pass-through wrapper carries its callee's), with
    `via` the wrappers in between."""

    function: str
    path: str
    patch: int
    before: frozenset[ReturnKind]
    after: frozenset[ReturnKind]
    type_before: ReturnType
    type_after: ReturnType
    origin: str = ""
    origin_path: str = ""
    via: tuple[str, ...] = ()

    @property
    def flipped(self) -> bool:
        """Whether what success is changed (the return type changed kind: int to bool)."""
        return self.type_before.kind != self.type_after.kind

    @property
    def added(self) -> frozenset[ReturnKind]:
        return self.after - self.before

    def tokens(self) -> frozenset[Token]:
        before = _expand(self.before, self.type_before)
        after = _expand(self.after, self.type_after)
        old = frozenset(Token(False, k, meaning(k, self.type_before, before)) for k in before)
        new = frozenset(
            Token(True, k, meaning(k, self.type_after, after), self.flipped or k not in before)
            for k in after
        )
        return old | new


def _expand(kinds: frozenset[ReturnKind], rtype: ReturnType) -> frozenset[ReturnKind]:
    """A pointer the body does not say more of is NULL or a valid pointer (the kernel's
    convention: a function that returns error pointers says so with ERR_PTR/ERR_CAST); a bool
    is true or false."""
    if rtype.kind == "pointer" and UNKNOWN in kinds:
        return (kinds - {UNKNOWN}) | {NULL, POINTER}
    if rtype.kind == "bool" and UNKNOWN in kinds:
        return (kinds - {UNKNOWN}) | {ReturnKind("bool", "true"), ReturnKind("bool", "false")}
    return kinds


@dataclass(frozen=True)
class Step:
    """A step of a caller's path: a test of the value, a copy, a use."""

    line: int
    text: str
    note: str


@dataclass(frozen=True)
class Held:
    """A variable holding a watched call's result on one path: the tokens left, and the tests
    that narrowed the old ones (the caller's beliefs)."""

    site: int
    tokens: frozenset[Token]
    tests: tuple[Step, ...] = ()
    steps: tuple[Step, ...] = ()
    # for a variable that holds a test of a value (`isolated = !f(...)`, keyed `?isolated`):
    # the held value's key, and what the variable's truth is of it
    link: tuple[str, Callable[[Token], frozenset[bool]]] | None = None

    def old(self) -> frozenset[Token]:
        return frozenset(t for t in self.tokens if not t.new)

    def new(self) -> frozenset[Token]:
        return frozenset(t for t in self.tokens if t.new)


Flow = dict[str, Held]


@dataclass
class CallerSite:
    """One call of a watched function in a caller, and what the caller does with the result."""

    function: str  # the caller
    callee: str
    path: str
    line: int
    column: int
    text: str
    byte: int
    verdict: str = "handled"  # handled | unhandled | passes-on
    reason: str = "ignored"  # ignored, tested, stored, test, deref, switch, returns, converted
    how: str = ""
    anchor: Step | None = None
    evidence: tuple[Step, ...] = ()
    related: list[Step] = field(default_factory=list)
    returned: bool = False  # returned as it is, before any test: a pass-through

    @property
    def id(self) -> str:
        return f"{self.path}:{self.function}:{self.callee}:{self.text}"


class CallerAnalysis:
    """Run over one caller's body, with the contracts of the functions it calls."""

    def __init__(
        self,
        node: tree_sitter.Node,
        function: str,
        path: str,
        contracts: Mapping[str, Contract],
        derefs: Mapping[str, frozenset[int]] | None = None,
    ) -> None:
        self.node = node
        self.function = function
        self.path = path
        self.contracts = contracts
        self.derefs = derefs or {}
        self.sites: dict[int, CallerSite] = {}
        self.labels: dict[str, Flow | None] = {}
        self.breaks: list[list[Flow | None]] = []
        self.temporary = 0
        self.temporaries: set[str] = set()
        self.seen_labels: set[str] = set()

    def run(self) -> list[CallerSite]:
        body = self.node.child_by_field_name("body")
        if body is not None:
            end = self.statement(body, {})
            if end is not None:
                self._path_end(end, body, "the end of the function")
        return sorted(self.sites.values(), key=lambda s: s.byte)

    # -- statements -------------------------------------------------------------------------

    def statement(self, node: tree_sitter.Node, flow: Flow | None) -> Flow | None:
        if flow is None:
            if node.type == "labeled_statement":
                return self._labeled_statement(node, None)
            if node.type == "compound_statement":
                return self._compound_statement(node, None)
            return None
        handler: Callable[[tree_sitter.Node, Flow], Flow | None] | None = getattr(
            self, f"_{node.type}", None
        )
        if handler is not None:
            return handler(node, flow)
        return self.expression(node, flow)

    def _compound_statement(self, node: tree_sitter.Node, flow: Flow | None) -> Flow | None:
        for child in node.named_children:
            if child.type != "comment":
                flow = self.statement(child, flow)
        return flow

    def _preproc(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        """`#ifdef` in a body: each branch is a possible path."""
        entry = dict(flow)
        skip = {
            node.child_by_field_name("condition"),
            node.child_by_field_name("name"),
            node.child_by_field_name("alternative"),
        }
        running: Flow | None = flow
        for child in node.named_children:
            if child not in skip and child.type != "comment":
                running = self.statement(child, running)
        alternative = node.child_by_field_name("alternative")
        if alternative is not None:
            return _join(running, self._preproc(alternative, entry))
        if node.type == "preproc_else":
            return running
        return _join(running, entry)

    _preproc_if = _preproc_ifdef = _preproc_else = _preproc_elif = _preproc

    def _expression_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        running: Flow | None = flow
        for child in node.named_children:
            running = self.expression(child, running)
        return running

    def _declaration(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        running: Flow | None = flow
        for child in node.named_children:
            if child.type == "init_declarator" and running is not None:
                name = declared_name(child.child_by_field_name("declarator"))
                value = child.child_by_field_name("value")
                if value is not None:
                    running = self._assign(name, value, running, child)
            elif child.type in ("identifier", "pointer_declarator") and running is not None:
                name = declared_name(child)
                if name:
                    self._kill(running, name, child)
        return running

    def _if_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        condition = node.child_by_field_name("condition")
        then_flow, else_flow = self.condition(condition, flow)
        consequence = node.child_by_field_name("consequence")
        after_then = self.statement(consequence, then_flow) if consequence else then_flow
        if after_then is not None and consequence is not None:
            self._branch_end(after_then, consequence, "the end of this branch")
        alternative = node.child_by_field_name("alternative")
        if alternative is not None:
            body = next((c for c in alternative.named_children if c.type != "comment"), None)
            after_else = self.statement(body, else_flow) if body is not None else else_flow
            if after_else is not None and body is not None and body.type != "if_statement":
                self._branch_end(after_else, body, "the end of this branch")
        else:
            after_else = else_flow
        self._drop_temporaries(after_then, node)
        self._drop_temporaries(after_else, node)
        return _join(after_then, after_else)

    def _else_clause(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        body = next((c for c in node.named_children if c.type != "comment"), None)
        return self.statement(body, flow) if body is not None else flow

    def _loop(
        self,
        node: tree_sitter.Node,
        flow: Flow,
        condition: tree_sitter.Node | None,
        update: tree_sitter.Node | None = None,
    ) -> Flow | None:
        """A loop, its body once: what leaves it is the condition's false side on entry and
        after the body (and its update) goes round, and every `break`; a loop with no
        condition is left by its breaks only."""
        self.breaks.append([])
        enter, leave = self.condition(condition, flow) if condition is not None else (flow, None)
        body = node.child_by_field_name("body")
        after = self.statement(body, enter) if body is not None else enter
        if after is not None and body is not None and condition is not None:
            self._branch_end(after, body, "the end of the loop body")
        if after is not None and condition is not None:
            self._drop_temporaries(after, node)
            again = self.expression(update, after) if update is not None else after
            _, exit_again = self.condition(condition, again)
            leave = _join(leave, exit_again)
        result = leave
        for pending in self.breaks.pop():
            result = _join(result, pending)
        self._drop_temporaries(result, node)
        return result

    def _while_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        return self._loop(node, flow, node.child_by_field_name("condition"))

    def _for_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        running: Flow | None = flow
        initializer = node.child_by_field_name("initializer")
        if initializer is not None:
            running = self.statement(initializer, running)
        if running is None:
            return None
        return self._loop(
            node, running, node.child_by_field_name("condition"), node.child_by_field_name("update")
        )

    def _do_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        self.breaks.append([])
        body = node.child_by_field_name("body")
        after = self.statement(body, flow) if body is not None else flow
        condition = node.child_by_field_name("condition")
        _, leave = self.condition(condition, after) if condition is not None else (after, after)
        result = leave
        for pending in self.breaks.pop():
            result = _join(result, pending)
        return result

    def _switch_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        condition = node.child_by_field_name("condition")
        body = node.child_by_field_name("body")
        tested = self._tested(condition, flow) if condition is not None else None
        entry = self.expression(condition, flow) if tested is None else flow
        if entry is None or body is None:
            return entry
        if tested is not None and condition is not None:
            bound = self._bind_temporary(tested, entry)
            if bound is None:
                return None
            entry = bound
        key = tested[0] if tested is not None else None
        self.breaks.append([])
        running: Flow | None = None
        labels: list[str] = []
        has_default = False
        for case in body.named_children:
            if case.type != "case_statement":
                running = self.statement(case, running)
                continue
            value = case.child_by_field_name("value")
            if value is None:
                has_default = True
                arm = dict(entry)
                if key is not None and key in arm:
                    arm[key] = self._narrow_cases(arm[key], labels, False, case)
            else:
                labels.append(node_text(value))
                arm = dict(entry)
                if key is not None and key in arm:
                    arm[key] = self._narrow_cases(arm[key], [node_text(value)], True, case)
            running = _join(running, arm)
            for child in case.named_children:
                if child != value and child.type != "comment":
                    running = self.statement(child, running)
        result = running
        for pending in self.breaks.pop():
            result = _join(result, pending)
        if not has_default:
            rest = dict(entry)
            if key is not None and key in rest:
                held = self._narrow_cases(rest[key], labels, False, node)
                rest[key] = held
                self._switch_gap(held, node, labels)
            result = _join(result, rest)
        self._drop_temporaries(result, node)
        return result

    def _switch_gap(self, held: Held, node: tree_sitter.Node, labels: list[str]) -> None:
        """A switch with no default that names every old kind: a new one matches nothing."""
        if held.old():
            return
        missing = sorted(t for t in held.new() if t.changed)
        if missing:
            names = ", ".join(str(t) for t in missing)
            tested = node_text(node.child_by_field_name("condition"))
            step = Step(line_of(node), f"switch {tested}", f"cases {', '.join(labels)}, no default")
            how = (
                "the switch has a case for every value it could return before, none for "
                f"{names}, and no default"
            )
            self._violate(held, "switch", how, step)

    def _narrow_cases(
        self, held: Held, labels: list[str], match: bool, node: tree_sitter.Node
    ) -> Held:
        def kept_by(token: Token) -> bool:
            if match:  # an arm: the token may equal one of its labels
                return any(True in _compare(token, "==", label) for label in labels)
            # past every label (default, or out of the switch): it may differ from all of them
            return all(False in _compare(token, "==", label) for label in labels)

        kept = frozenset(t for t in held.tokens if kept_by(t))
        step = Step(line_of(node), node_text(node)[:80].split(":")[0], "switch arm")
        return _narrowed(held, kept, step)

    def _return_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        returned = next((c for c in node.named_children if c.type != "comment"), None)
        if returned is None:
            self._path_end(flow, node, "a return")
            return None
        passed = self._passed_on(returned, flow)
        if passed is not None:
            key, held = passed
            if not held.tests:
                site = self.sites[held.site]
                site.returned = True
            else:
                self._branch_end({key: held}, node, "a return of it")
            flow = {k: v for k, v in flow.items() if k != key}
            call = unwrap(returned)
            if call.type == "call_expression" and callee_name(call) in self.contracts:
                for argument in call_arguments(call):
                    after = self.expression(argument, flow)
                    if after is None:
                        return None
                    flow = after
        else:
            after = self.expression(returned, flow)
            if after is None:
                return None
            flow = after
        self._path_end(flow, node, "a return")
        return None

    def _passed_on(self, node: tree_sitter.Node, flow: Flow) -> tuple[str, Held] | None:
        """`return f(...)`, `return p`, `return &p->member`: the value itself, returned."""
        node = unwrap(node)
        if node.type == "call_expression" and callee_name(node) in self.contracts:
            key = self._start(node, flow)
            return key, flow[key]
        if node.type == "pointer_expression" and operator_of(node) == "&":
            base = node.child_by_field_name("argument")
            while base is not None and base.type in ("field_expression", "subscript_expression"):
                base = base.child_by_field_name("argument")
            node = unwrap(base) if base is not None else node
            if node.type == "call_expression" and callee_name(node) in self.contracts:
                key = self._start(node, flow)  # `return &f(x)->page;`
                return key, flow[key]
        if node.type == "identifier" and node_text(node) in flow:
            return node_text(node), flow[node_text(node)]
        return None

    def _break_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        self._branch_end(flow, node, "a break")
        if self.breaks:
            self.breaks[-1].append(flow)
        return None

    def _continue_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        self._branch_end(flow, node, "a continue")
        return None

    def _goto_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        label = node.child_by_field_name("label")
        name = node_text(label)
        if name not in self.seen_labels:
            self.labels[name] = _join(self.labels.get(name), flow)
        return None

    def _labeled_statement(self, node: tree_sitter.Node, flow: Flow | None) -> Flow | None:
        label = node.child_by_field_name("label")
        name = node_text(label)
        self.seen_labels.add(name)
        flow = _join(flow, self.labels.pop(name, None))
        for child in node.named_children:
            if child != label and child.type != "comment":
                flow = self.statement(child, flow)
        return flow

    # -- expressions ------------------------------------------------------------------------

    def expression(self, node: tree_sitter.Node | None, flow: Flow | None) -> Flow | None:
        if node is None or flow is None:
            return flow
        kind = node.type
        if kind == "call_expression":
            return self._call(node, flow)
        if kind == "assignment_expression":
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            target = unwrap(left) if left is not None else None
            name = node_text(target) if target is not None and target.type == "identifier" else None
            if right is not None and operator_of(node) == "=":
                if name is not None:
                    return self._assign(name, right, flow, node)
                flow = self.expression(left, flow)
                return self._store(right, flow, node)
            flow = self.expression(right, flow)
            if name is not None and flow is not None:
                self._kill(flow, name, node)
            return flow
        star = kind == "pointer_expression" and operator_of(node) == "*"
        if kind in ("field_expression", "subscript_expression") or star:
            self._dereference(node, flow)
        if kind == "conditional_expression":
            then_flow, else_flow = self.condition(node.child_by_field_name("condition"), flow)
            result = _join(
                self.expression(node.child_by_field_name("consequence"), then_flow),
                self.expression(node.child_by_field_name("alternative"), else_flow),
            )
            self._drop_temporaries(result, node)
            return result
        if kind == "binary_expression" and operator_of(node) in ("&&", "||"):
            true_flow, false_flow = self.condition(node, flow)
            result = _join(true_flow, false_flow)
            self._drop_temporaries(result, node)
            return result
        for child in node.named_children:
            flow = self.expression(child, flow)
            if flow is None:
                return None
        return flow

    def _call(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        name = callee_name(node)
        arguments = call_arguments(node)
        for index, argument in enumerate(arguments):
            inner = unwrap(argument)
            if inner.type == "call_expression" and callee_name(inner) in self.contracts:
                key = self._start(inner, flow)
                self._stored(flow.pop(key), inner, f"passed to {name}()")
                continue
            if (
                name is not None
                and name not in _NOT_USES
                and inner.type == "identifier"
                and node_text(inner) in flow
            ):
                dereferences = index in self.derefs.get(name, frozenset())
                how = f"passed to {name}(){', which dereferences it' if dereferences else ''}"
                self._use(flow[node_text(inner)], node, how, dereferences)
            result = self.expression(argument, flow)
            if result is None:
                return None
            flow = result
        if name in self.contracts:
            key = self._start(node, flow)
            held = flow.pop(key)
            site = self.sites[held.site]
            if site.reason == "ignored":
                site.how = "the result is not used"
        return flow

    def _start(self, node: tree_sitter.Node, flow: Flow) -> str:
        """A call of a watched function: its value, held under a temporary name."""
        name = callee_name(node) or ""
        site = self.sites.get(node.start_byte)
        if site is None:
            site = CallerSite(
                self.function,
                name,
                self.path,
                line_of(node),
                node.start_point[1] + 1,
                node_text(node)[:120],
                node.start_byte,
            )
            self.sites[node.start_byte] = site
        self.temporary += 1
        key = f"@{self.temporary}"
        flow[key] = Held(node.start_byte, self.contracts[name].tokens())
        return key

    def _assign(
        self, name: str | None, value: tree_sitter.Node, flow: Flow, node: tree_sitter.Node
    ) -> Flow | None:
        inner = unwrap(value)
        member_of = _member_of_call(inner)
        if member_of is not None and callee_name(member_of) in self.contracts:
            inner = member_of  # `page = &f(x)->page`: the member's address carries f()'s value
        source: Held | None = None
        if inner.type == "call_expression" and callee_name(inner) in self.contracts:
            after = self._call_arguments(inner, flow)
            if after is None:
                return None
            flow = after
            key = self._start(inner, flow)
            source = flow.pop(key)
        elif name and (link := self._test_link(inner, flow)) is not None:
            # `isolated = !f(...)`, `err = PTR_ERR_OR_ZERO(p)`, `bad = IS_ERR(p)`: a later
            # test of the variable is that test of the value
            bound, key, test = link
            self._kill(bound, name, node)
            bound[f"?{name}"] = Held(-1, frozenset(), link=(key, test))
            return bound
        else:
            passed = self._alias(inner, flow)
            after = self.expression(value, flow)
            if after is None:
                return None
            flow = after
            if passed is not None and passed in flow:
                source = flow[passed]
        if name is None:
            if source is not None:
                self._stored(source, node, "stored")
            return flow
        self._kill(flow, name, node)
        if source is not None:
            step = Step(line_of(node), node_text(node)[:120], f"{name} holds it")
            flow[name] = replace(source, steps=(*source.steps, step))
        return flow

    def _call_arguments(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        running: Flow | None = flow
        for argument in call_arguments(node):
            running = self.expression(argument, running)
        return running

    def _alias(self, node: tree_sitter.Node, flow: Flow) -> str | None:
        """`q = p` or `page = &folio->page`: a copy of a held value (a member's address keeps
        the contract: NULL and ERR_PTR carry through a member at offset 0)."""
        if node.type == "identifier" and node_text(node) in flow:
            return node_text(node)
        if node.type == "pointer_expression" and operator_of(node) == "&":
            base = node.child_by_field_name("argument")
            arrow = False
            while base is not None and base.type == "field_expression":
                arrow = arrow or any(c.type == "->" for c in base.children)
                base = base.child_by_field_name("argument")
            if arrow and base is not None and unwrap(base).type == "identifier":
                name = node_text(unwrap(base))
                return name if name in flow else None
        return None

    def _store(
        self, right: tree_sitter.Node, flow: Flow | None, node: tree_sitter.Node
    ) -> Flow | None:
        """`x->field = f(...)`: the value goes where the analysis does not follow."""
        if flow is None:
            return None
        inner = unwrap(right)
        if inner.type == "call_expression" and callee_name(inner) in self.contracts:
            after = self._call_arguments(inner, flow)
            if after is None:
                return None
            key = self._start(inner, after)
            self._stored(after.pop(key), node, "stored")
            return after
        return self.expression(right, flow)

    def _stored(self, held: Held, node: tree_sitter.Node, how: str) -> None:
        site = self.sites[held.site]
        if site.verdict == "handled" and site.reason == "ignored":
            site.reason = "stored"
            site.how = f"{how} at line {line_of(node)}: not followed"

    def _kill(self, flow: Flow, name: str, node: tree_sitter.Node) -> None:
        held = flow.get(name)
        if held is not None:
            self._branch_end({name: held}, node, "a new value of it")
            del flow[name]
        flow.pop(f"?{name}", None)

    def _dereference(self, node: tree_sitter.Node, flow: Flow) -> None:
        base = node.child_by_field_name("argument")
        if base is None:
            return
        if node.type == "field_expression" and not any(c.type == "->" for c in node.children):
            return
        base = unwrap(base)
        if base.type == "identifier" and node_text(base) in flow:
            self._use(flow[node_text(base)], node, "dereferenced")
        elif base.type == "call_expression" and callee_name(base) in self.contracts:
            key = self._start(base, flow)
            self._use(flow.pop(key), node, "dereferenced")

    def _use(self, held: Held, node: tree_sitter.Node, how: str, dereference: bool = True) -> None:
        """A use of the value as a valid one (a dereference, an argument): a failure the
        caller was not written for must not reach it where the caller believes the value
        good (its old values left are all success: it tested them away, or the function
        never failed). A use the caller already made of a value that could fail before
        (never tested for NULL) is its own, older, assumption."""
        site = self.sites[held.site]
        if site.verdict == "handled" and site.reason == "ignored":
            site.reason, site.how = "used", f"{how} at line {line_of(node)}, with no test of it"
        believed = {t.meaning for t in held.old() if t.meaning != NEUTRAL}
        if believed != {SUCCESS}:
            return
        bad = sorted(t for t in held.new() if t.changed and t.meaning == FAILURE)
        if not bad:
            return
        step = Step(line_of(node), node_text(node)[:120], how)
        names = " or ".join(str(t) for t in bad)
        if held.tests:
            test = held.tests[-1]
            how = (
                f"`{test.text}` leaves it for success only, but {names} now gets through to "
                f"line {step.line}, where it is {how}"
            )
            self._violate(held, "test", how, test)
            return
        self._violate(
            held, "deref" if dereference else "use", f"{how} while it may be {names}", step
        )

    # -- conditions -------------------------------------------------------------------------

    def condition(
        self,
        node: tree_sitter.Node | None,
        flow: Flow | None,
        outer: tree_sitter.Node | None = None,
        negated: bool = False,
    ) -> tuple[Flow | None, Flow | None]:
        """The flows where the condition holds and where it does not. `outer` is the whole
        condition as written (what a step shows), `negated` whether `node` is under a `!`."""
        if node is None or flow is None:
            return flow, flow
        if outer is None:
            outer = node
            while outer.type in ("condition_clause", "parenthesized_expression"):
                inner = [c for c in outer.named_children if c.type != "comment"]
                if len(inner) != 1:
                    break
                outer = inner[0]
        kind = node.type
        if kind in ("parenthesized_expression", "condition_clause"):
            inner = [c for c in node.named_children if c.type != "comment"]
            if len(inner) == 1:
                return self.condition(inner[0], flow, outer, negated)
            running: Flow | None = flow
            for child in inner[:-1]:
                running = self.statement(child, running)
            return self.condition(inner[-1], running, outer, negated) if inner else (flow, flow)
        if kind == "comma_expression":
            parts = comma_parts(node)
            running = flow
            for part in parts[:-1]:
                running = self.expression(part, running)
            return self.condition(parts[-1], running, outer, negated)
        if kind == "unary_expression" and operator_of(node) == "!":
            true_flow, false_flow = self.condition(
                node.child_by_field_name("argument"), flow, outer, not negated
            )
            return false_flow, true_flow
        if kind == "binary_expression" and operator_of(node) in ("&&", "||"):
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            left_true, left_false = self.condition(left, flow, outer, negated)
            if operator_of(node) == "&&":
                right_true, right_false = self.condition(right, left_true, outer, negated)
                return right_true, _join(left_false, right_false)
            right_true, right_false = self.condition(right, left_false, outer, negated)
            return _join(left_true, right_true), right_false
        tested = self._tested(node, flow)
        if tested is None:
            after = self.expression(node, flow)
            return after, dict(after) if after is not None else None
        key, test, _ = tested
        flow = self._bind_temporary(tested, flow)
        if flow is None:
            return None, None
        held = flow.get(key)
        if held is None:
            return flow, dict(flow)
        site = self.sites[held.site]
        if site.verdict == "handled" and site.reason in ("ignored", "stored"):
            site.reason, site.how = "tested", f"tested: `{node_text(outer)[:120]}`"
        results = []
        for wanted in (True, False):
            kept = frozenset(t for t in held.tokens if wanted in test(t))
            taken = wanted != negated
            step = Step(line_of(outer), node_text(outer)[:120], "taken" if taken else "not taken")
            branch: Flow | None = dict(flow)
            if not any(t.new for t in kept) and not any(not t.new for t in kept):
                branch = None
            elif branch is not None:
                branch[key] = _narrowed(held, kept, step)
            results.append(branch)
        return results[0], results[1]

    def _bind_temporary(
        self, tested: tuple[str, Callable[[Token], frozenset[bool]], tree_sitter.Node | None],
        flow: Flow,
    ) -> Flow | None:  # fmt: skip
        """A condition that calls the watched function itself, `if (!f(...))` or assigns it,
        `if (!(p = f(...)))`: its value, under the key the test reads."""
        key, _, subject = tested
        if subject is None:
            return flow
        if subject.type == "assignment_expression":
            return self.expression(subject, flow)
        if subject.type == "call_expression":
            after = self._call_arguments(subject, flow)
            if after is None:
                return None
            temporary = self._start(subject, after)
            after[key] = after.pop(temporary)
            after[key] = replace(after[key])
            self.temporaries.add(key)
            return after
        return flow

    def _drop_temporaries(self, flow: Flow | None, node: tree_sitter.Node) -> None:
        """A value made in a condition (`if (!f(...))`) ends with the statement: the path
        after it is where the caller's test left it."""
        if flow is None:
            return
        ended = {k: v for k, v in flow.items() if k in self.temporaries}
        if ended:
            self._branch_end(ended, node, "the code after the test")
        for key in ended:
            del flow[key]

    def _tested(
        self, node: tree_sitter.Node, flow: Flow
    ) -> tuple[str, Callable[[Token], frozenset[bool]], tree_sitter.Node | None] | None:
        """What a condition tests: the held value's key, the test on a token, and the
        expression that makes the value (a call of the watched function, or an assignment of
        one) when it is made in the condition itself."""
        node = unwrap(node)
        if node.type == "unary_expression" and operator_of(node) == "!":
            # `unlikely(!p)`, `WARN_ON(!f(x))`: the negation of what the argument tests
            argument = node.child_by_field_name("argument")
            inner = self._tested(argument, flow) if argument is not None else None
            if inner is None:
                return None
            key, test, made = inner

            def negated(
                token: Token, test: Callable[[Token], frozenset[bool]] = test
            ) -> frozenset[bool]:
                return frozenset(not r for r in test(token))

            return key, negated, made
        linked = self._linked(node, flow)
        if linked is not None:
            return linked[0], linked[1], None
        if node.type == "call_expression":
            name = callee_name(node) or ""
            arguments = call_arguments(node)
            if name in _TRANSPARENT and len(arguments) > _TRANSPARENT[name]:
                return self._tested(arguments[_TRANSPARENT[name]], flow)
            tests = {
                "IS_ERR": _is_err,
                "IS_ERR_OR_NULL": _is_err_or_null,
                "PTR_ERR_OR_ZERO": _is_err,
                "IS_ERR_VALUE": _is_err,
            }
            if name in tests and arguments:
                subject = self._subject(arguments[0], flow)
                if subject is not None:
                    return subject[0], tests[name], subject[1]
                return None
            if name in self.contracts:
                return f"@{node.start_byte}", _truth, node
            return None
        if node.type == "binary_expression" and operator_of(node) in _COMPARISONS:
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            if left is None or right is None:
                return None
            operator = operator_of(node)
            for side, other, op in ((left, right, operator), (right, left, _MIRROR[operator])):
                linked = self._linked(unwrap(side), flow)
                if linked is not None and _constant(node_text(unwrap(other))) == ("num", 0):
                    truth = op in ("!=", "<")  # `err != 0`, `err < 0`: err is set
                    if op in ("==", "!=", "<", ">="):
                        key, of = linked

                        def linked_test(
                            token: Token,
                            truth: bool = truth,
                            of: Callable[[Token], frozenset[bool]] = of,
                        ) -> frozenset[bool]:
                            return frozenset(r == truth for r in of(token))

                        return key, linked_test, None
            for side, other, op in ((left, right, operator), (right, left, _MIRROR[operator])):
                subject = self._subject(side, flow)
                if subject is not None and _constant(node_text(unwrap(other))) is not None:
                    operand = node_text(unwrap(other))

                    def test(token: Token, op: str = op, operand: str = operand) -> frozenset[bool]:
                        return _compare(token, op, operand)

                    return subject[0], test, subject[1]
            return None
        subject = self._subject(node, flow)
        if subject is not None:
            return subject[0], _truth, subject[1]
        return None

    def _linked(
        self, node: tree_sitter.Node, flow: Flow
    ) -> tuple[str, Callable[[Token], frozenset[bool]]] | None:
        """`err` after `err = PTR_ERR_OR_ZERO(p)`: the held value it tests, and how."""
        if node.type != "identifier":
            return None
        entry = flow.get(f"?{node_text(node)}")
        link = entry.link if entry is not None else None
        return link if link is not None and link[0] in flow else None

    def _test_link(
        self, node: tree_sitter.Node, flow: Flow
    ) -> tuple[Flow, str, Callable[[Token], frozenset[bool]]] | None:
        """A test of a held value (or of a watched call made there) stored in a variable."""
        negated = False
        while node.type == "unary_expression" and operator_of(node) == "!":
            negated = not negated
            argument = node.child_by_field_name("argument")
            if argument is None:
                return None
            node = unwrap(argument)
        testing = node.type == "binary_expression" or (
            node.type == "call_expression" and callee_name(node) not in self.contracts
        )
        if not (negated or testing):
            return None
        tested = self._tested(node, flow)
        if tested is None:
            return None
        bound = self._bind_temporary(tested, flow)
        if bound is None:
            return None
        key, test, _ = tested
        self.temporaries.discard(key)
        if key not in bound:
            return None
        if not negated:
            return bound, key, test

        def inverse(token: Token) -> frozenset[bool]:
            return frozenset(not r for r in test(token))

        return bound, key, inverse

    def _subject(
        self, node: tree_sitter.Node, flow: Flow
    ) -> tuple[str, tree_sitter.Node | None] | None:
        node = unwrap(node)
        if node.type == "identifier":
            name = node_text(node)
            if name in flow:
                return name, None
            return None
        if node.type == "call_expression" and callee_name(node) in self.contracts:
            return f"@{node.start_byte}", node
        if node.type == "assignment_expression" and operator_of(node) == "=":
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            inner = unwrap(right) if right is not None else None
            if (
                left is not None
                and unwrap(left).type == "identifier"
                and inner is not None
                and inner.type == "call_expression"
                and callee_name(inner) in self.contracts
            ):
                return node_text(unwrap(left)), node
        return None

    # -- verdicts ---------------------------------------------------------------------------

    def _branch_end(self, flow: Flow, node: tree_sitter.Node, where: str) -> None:
        """A place the caller's tests made for success (or failure) only: a value the caller
        was not written for, of the other meaning, must not reach it."""
        for held in list(flow.values()):
            if not held.tests or held.site < 0:
                continue
            believed = {t.meaning for t in held.old() if t.meaning != NEUTRAL}
            if len(believed) != 1:
                continue
            (belief,) = believed
            wrong = sorted(
                t for t in held.new() if t.changed and t.meaning not in (NEUTRAL, belief)
            )
            if not wrong:
                continue
            test = held.tests[-1]
            names = " or ".join(str(t) for t in wrong)
            how = (
                f"`{test.text}` leaves it for {'success' if belief == SUCCESS else 'failure'} "
                f"only, but {names} now gets through to {where} (line {line_of(node)})"
            )
            self._violate(held, "test", how, test)

    def _path_end(self, flow: Flow, node: tree_sitter.Node, where: str) -> None:
        self._branch_end(flow, node, where)

    def _violate(self, held: Held, reason: str, how: str, anchor: Step) -> None:
        site = self.sites[held.site]
        if site.verdict == "unhandled":
            if anchor != site.anchor and anchor not in site.related:
                site.related.append(anchor)
            return
        site.verdict = "unhandled"
        site.reason = reason
        site.how = how
        site.anchor = anchor
        site.evidence = (*held.steps, *held.tests)
        if anchor not in site.evidence:
            site.evidence = (*site.evidence, anchor)

    def finish(self) -> list[CallerSite]:
        """The sites with a verdict for each (called after `run`)."""
        for site in self.sites.values():
            if site.verdict == "unhandled":
                continue
            if site.returned:
                site.verdict, site.reason = "passes-on", "returns"
                site.how = "returned as it is: the caller is a pass-through wrapper"
        return sorted(self.sites.values(), key=lambda s: s.byte)


def _member_of_call(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The call in `&f(x)->member` (an address derived from a call's result), or None."""
    if node.type != "pointer_expression" or operator_of(node) != "&":
        return None
    base = node.child_by_field_name("argument")
    arrow = False
    while base is not None and base.type == "field_expression":
        arrow = arrow or any(c.type == "->" for c in base.children)
        base = base.child_by_field_name("argument")
    if not arrow or base is None:
        return None
    base = unwrap(base)
    return base if base.type == "call_expression" else None


def _narrowed(held: Held, kept: frozenset[Token], step: Step) -> Held:
    """The value after a test: the tokens it keeps; the test is one of the caller's beliefs
    when it removed an old token."""
    removed_old = any(not t.new for t in held.tokens - kept)
    tests = (*held.tests, step) if removed_old else held.tests
    return Held(held.site, kept, tests, held.steps)


def _join(a: Flow | None, b: Flow | None) -> Flow | None:
    if a is None:
        return dict(b) if b is not None else None
    if b is None:
        return dict(a)
    joined: Flow = {}
    for key in a.keys() | b.keys():
        first, second = a.get(key), b.get(key)
        if first is None or second is None:
            joined[key] = first or second  # type: ignore[assignment]
            continue
        if first == second:
            joined[key] = first
            continue
        tests = first.tests if len(first.tests) >= len(second.tests) else second.tests
        if first.site != second.site or first.site < 0:
            joined[key] = first
            continue
        joined[key] = Held(
            first.site,
            first.tokens | second.tokens,
            tests if first.tests and second.tests else (),
            first.steps if len(first.steps) >= len(second.steps) else second.steps,
        )
    return joined


# -- tests on tokens --------------------------------------------------------------------------


def _truth(token: Token) -> frozenset[bool]:
    kind = token.kind
    if kind.kind == "null":
        return frozenset({False})
    if kind.kind in ("errptr", "pointer"):
        return frozenset({True})
    if kind.kind == "bool":
        return frozenset({kind.value == "true"})
    if kind.kind == "int":
        number = _number(kind.value)
        if number is not None:
            return frozenset({number != 0})
        return frozenset({True})  # an errno
    return _BOTH


def _is_err(token: Token) -> frozenset[bool]:
    kind = token.kind.kind
    if kind == "errptr":
        return frozenset({True})
    if kind in ("null", "pointer"):
        return frozenset({False})
    if kind == "int" and token.kind.value.startswith("-"):
        return frozenset({True})  # IS_ERR_VALUE(ret)
    if kind in ("int", "bool"):
        return frozenset({False})
    return _BOTH


def _is_err_or_null(token: Token) -> frozenset[bool]:
    if token.kind.kind == "null":
        return frozenset({True})
    return _is_err(token)


def _number(text: str) -> int | None:
    """A C integer constant (`0x10`, `010` is octal), or None."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    digits = match.group(2)
    try:
        value = int(digits, 8) if re.fullmatch(r"0[0-7]+", digits) else int(digits, 0)
    except ValueError:  # `08`: no C constant
        return None
    return -value if match.group(1) else value


def _constant(text: str) -> tuple[str, object] | None:
    """A comparison's constant operand: (`num`, n), (`errno`, name) or (`enum`, name)."""
    text = text.strip()
    if text in ("NULL", "false"):
        return ("num", 0)
    if text == "true":
        return ("num", 1)
    errno = _ERRNO.fullmatch(re.sub(r"\s+", "", text))
    if errno is not None:
        return ("errno", errno.group(1))
    number = _number(text)
    if number is not None:
        return ("num", number)
    if _ENUM.fullmatch(text):
        return ("enum", text)
    return None


def _value(token: Token) -> tuple[str, object] | None:
    """A token as a comparable value (None: could be anything)."""
    kind = token.kind
    if kind.kind == "null":
        return ("num", 0)
    if kind.kind == "bool":
        return ("num", 1 if kind.value == "true" else 0)
    if kind.kind == "int":
        if kind.value == ANY_ERRNO:
            return ("negative", None)
        number = _number(kind.value)
        if number is not None:
            return ("num", number)
        errno = _ERRNO.fullmatch(kind.value)
        return ("errno", errno.group(1)) if errno else None
    if kind.kind == "enum":
        return ("enum", kind.value)
    if kind.kind in ("pointer", "errptr"):
        return ("nonzero", None)
    return None


def _compare(token: Token, operator: str, operand_text: str) -> frozenset[bool]:
    operand = _constant(operand_text)
    value = _value(token)
    if operand is None or value is None:
        return _BOTH
    if operator in ("!=",):
        return frozenset(not r for r in _compare(token, "==", operand_text))
    if operator in (">=", "<="):
        strict = _compare(token, operator[0], operand_text)
        equal = _compare(token, "==", operand_text)
        return frozenset(a or b for a in strict for b in equal)
    sign = _sign(value)
    kind, other = operand
    if operator == "==":
        if value[0] == "nonzero":
            return frozenset({False}) if operand == ("num", 0) else _BOTH
        if value[0] == kind and kind in ("num", "errno", "enum"):
            return frozenset({value[1] == other})
        if kind == "num" and sign is not None and isinstance(other, int) and sign < 0 <= other:
            return frozenset({False})
        if value[0] == "num" and kind == "errno":
            return frozenset({False}) if isinstance(value[1], int) and value[1] >= 0 else _BOTH
        return _BOTH
    # < and >: only against numbers
    if kind != "num" or not isinstance(other, int):
        return _BOTH
    if value[0] == "num" and isinstance(value[1], int):
        return frozenset({value[1] < other if operator == "<" else value[1] > other})
    if sign is not None and sign < 0 and other >= 0:
        return frozenset({operator == "<"})
    return _BOTH


def _sign(value: tuple[str, object]) -> int | None:
    if value[0] in ("errno", "negative"):
        return -1
    if value[0] == "num" and isinstance(value[1], int):
        return (value[1] > 0) - (value[1] < 0)
    return None


def dereferenced_parameters(function: tree_sitter.Node) -> frozenset[int]:
    """The parameters a function dereferences (`p->x`, `*p`) before any test of them: what a
    caller must not pass as NULL or an error pointer."""
    declarator = function.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    parameters = declarator.child_by_field_name("parameters") if declarator is not None else None
    names = [
        declared_name(p.child_by_field_name("declarator"))
        for p in (parameters.named_children if parameters is not None else [])
        if p.type == "parameter_declaration"
    ]
    body = function.child_by_field_name("body")
    if body is None or not names:
        return frozenset()
    found: set[int] = set()
    for index, name in enumerate(names):
        if name and _first_use_dereferences(body, name):
            found.add(index)
    return frozenset(found)


def _first_use_dereferences(body: tree_sitter.Node, name: str) -> bool:
    stack = [body]
    first: tree_sitter.Node | None = None
    while stack:
        node = stack.pop()
        if node.type == "identifier" and node.text == name.encode():
            if first is None or node.start_byte < first.start_byte:
                first = node
            continue
        stack.extend(node.children)
    if first is None or first.parent is None:
        return False
    parent = first.parent
    if parent.type == "field_expression" and parent.child_by_field_name("argument") == first:
        return any(c.type == "->" for c in parent.children)
    return parent.type == "pointer_expression" and operator_of(parent) == "*"
