"""Path-sensitive case analysis of one C function against a contract rule.

At every program point each tracked value (a pte, `*ptep`, `vmf->orig_pte`, ...) has the set of
cases it may be in. Predicates narrow the set on each branch (`if`, `&&`, `||`, `!`, ternaries,
`switch`), early exits (`return`, `continue`, `break`, `goto`) end a path, loops iterate to a
fixpoint, copies (`pte_t pte = *ptep;`) carry the set, and values derived from a tracked value
(`entry = pte_to_swp_entry(pte)`) narrow the value they came from. Each value also carries one
witness trail: the guards along a path that kept its cases, which becomes a finding's evidence.

Calls of a function with a summary (its parameter reaches a forbidden use unguarded) are checked
like forbidden uses, with the callee's requirement mapped onto the arguments.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from reviewtool.rules import ContractRule

if TYPE_CHECKING:
    import tree_sitter

_ZERO = {"0", "false", "NULL", "0UL", "0L"}
_LOOP_ROUNDS = 4


@dataclass(frozen=True)
class Event:
    """A step of a witness path: a guard taken, a copy, a call."""

    line: int
    text: str
    note: str


@dataclass(frozen=True)
class Value:
    cases: frozenset[str]
    trail: tuple[Event, ...] = ()
    excluded: tuple[tuple[str, Event], ...] = ()
    origin: str | None = None  # the entry key this value was read from (None: constructed)
    untracked: str = ""  # set when the value comes from a call the rule knows nothing of

    @property
    def tracked(self) -> bool:
        return not self.untracked

    def exclusion(self, case: str) -> Event | None:
        return next((event for name, event in self.excluded if name == case), None)


@dataclass(frozen=True)
class Requirement:
    """A function's parameter reaches a forbidden use: callers must exclude `cases`."""

    function: str
    parameter: int
    path: str  # the value's key inside the callee, rooted at the parameter name
    parameter_name: str
    cases: frozenset[str]
    use: Event
    api: str
    file: str
    chain: tuple[Event, ...] = ()


@dataclass
class SiteRecord:
    """A call of a watched or forbidden API (or of a summarised function) seen in a function."""

    byte: int
    line: int
    column: int
    api: str
    argument: str
    key: str | None
    cases: frozenset[str] = frozenset()
    value: Value | None = None
    violation: Value | None = None
    violating: frozenset[str] = frozenset()
    requirement: Requirement | None = None  # set for calls of summarised functions
    from_parameter: tuple[int, str, str] | None = None  # (index, name, path) when param-rooted
    parameter_holds_value: bool = False  # that parameter is (or points to) the tracked type


@dataclass
class Flow:
    values: dict[str, Value] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)

    def copy(self) -> Flow:
        return Flow(dict(self.values), dict(self.derived))


def join(a: Flow | None, b: Flow | None, new: frozenset[str] = frozenset()) -> Flow | None:
    if a is None:
        return None if b is None else b.copy()
    if b is None:
        return a.copy()
    a, b = _materialize(a, b), _materialize(b, a)
    values: dict[str, Value] = {}
    for key in a.values.keys() & b.values.keys():
        values[key] = _join_values(a.values[key], b.values[key], new)
    derived = {k: v for k, v in a.derived.items() if b.derived.get(k) == v}
    return Flow(values, derived)


def _materialize(flow: Flow, other: Flow) -> Flow:
    """Turn links the other flow does not share into values, so that the join keeps them."""
    unshared = {k: s for k, s in flow.derived.items() if other.derived.get(k) != s}
    if not unshared:
        return flow
    result = flow.copy()
    for key, source in unshared.items():
        if source in result.values:
            result.values[key] = result.values[source]
        del result.derived[key]
    return result


def _join_values(a: Value, b: Value, new: frozenset[str] = frozenset()) -> Value:
    if a == b:
        return a
    if not a.tracked or not b.tracked:
        # A value that may come from a tracked read on one path is tracked.
        return b if a.untracked else a
    cases = a.cases | b.cases
    # Keep the witness of a path that carries a new case: that is the path a finding shows.
    a_new, b_new = bool(a.cases & new), bool(b.cases & new)
    if a_new != b_new:
        trail = a.trail if a_new else b.trail
    else:
        trail = a.trail if len(a.trail) >= len(b.trail) else b.trail
    excluded = tuple((c, e) for c, e in a.excluded if c not in cases)
    origin = a.origin if a.origin == b.origin else None
    return Value(cases, trail, excluded, origin)


def _same(a: Flow | None, b: Flow | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.values == b.values and a.derived == b.derived


class FunctionAnalysis:
    """Run the analysis over one function body."""

    def __init__(
        self,
        rule: ContractRule,
        live: frozenset[str],
        summaries: Mapping[str, tuple[Requirement, ...]],
        function: str,
        parameters: list[str],
        path: str,
        parameter_types: list[str] | None = None,
    ) -> None:
        self.rule = rule
        self.live = live
        self.summaries = summaries
        self.function = function
        self.parameters = parameters
        self.parameter_types = parameter_types or []
        self.path = path
        self.sites: dict[int, SiteRecord] = {}
        self.labels: dict[str, Flow | None] = {}
        self.breaks: list[list[Flow | None]] = []
        self.continues: list[list[Flow | None]] = []
        self.switch_breaks: list[list[Flow | None]] = []
        self.watched = set(rule.watch) | set(rule.forbidden)

    def join(self, a: Flow | None, b: Flow | None) -> Flow | None:
        return join(a, b, self.rule.new_cases)

    # -- statements -------------------------------------------------------------------------

    def run(self, body: tree_sitter.Node) -> None:
        """Analyse the body; again while a backward `goto` brings new states to its label."""
        for _ in range(_LOOP_ROUNDS):
            before = dict(self.labels)
            self.statement(body, Flow())
            if all(_same(before.get(k), v) for k, v in self.labels.items()):
                break

    def statement(self, node: tree_sitter.Node, flow: Flow | None) -> Flow | None:
        if flow is None:
            # Code after an exit is reached only through a label (a `goto` target).
            if node.type == "labeled_statement":
                return self._labeled(node, None)
            if node.type == "compound_statement":
                return self._block(node, None)
            return None
        handler = getattr(self, f"_{node.type}", None)
        if handler is not None:
            result: Flow | None = handler(node, flow)
            return result
        return self.expression(node, flow)

    def _block(self, node: tree_sitter.Node, flow: Flow | None) -> Flow | None:
        for child in node.named_children:
            if child.type != "comment":
                flow = self.statement(child, flow)
        return flow

    _compound_statement = _block

    def _expression_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        running: Flow | None = flow
        for child in node.named_children:
            running = self.expression(child, running)
        return running

    def _declaration(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        for child in node.named_children:
            if child.type == "init_declarator":
                target = child.child_by_field_name("declarator")
                value = child.child_by_field_name("value")
                name = _declared_name(target)
                if value is not None:
                    before = self.value(value, flow)  # the value read, before side effects
                    source = self._derived_source(value, flow)
                    after = self.expression(value, flow)
                    if after is None:
                        return None
                    flow = after
                    if name:
                        self._assign(name, value, flow, child, before, source)
            elif child.type in ("identifier", "pointer_declarator", "array_declarator"):
                name = _declared_name(child)
                if name:
                    self._kill(flow, name)
        return flow

    def _if_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        condition = node.child_by_field_name("condition")
        assert condition is not None
        then_flow, else_flow = self.condition(condition, flow)
        consequence = node.child_by_field_name("consequence")
        after_then = self.statement(consequence, then_flow) if consequence else then_flow
        alternative = node.child_by_field_name("alternative")
        if alternative is not None:
            inner = alternative
            if alternative.type == "else_clause":
                inner = next(c for c in alternative.named_children if c.type != "comment")
            after_else = self.statement(inner, else_flow)
        else:
            after_else = else_flow
        return self.join(after_then, after_else)

    def _loop(
        self,
        flow: Flow,
        condition: tree_sitter.Node | None,
        body: tree_sitter.Node | None,
        update: tree_sitter.Node | None,
        body_first: bool = False,
    ) -> Flow | None:
        head: Flow | None = flow
        exit_flow: Flow | None = None
        breaks: list[Flow | None] = []
        for _ in range(_LOOP_ROUNDS):
            self.breaks.append([])
            self.continues.append([])
            if body_first:
                enter: Flow | None = head
            else:
                enter, exit_flow = self.condition(condition, head) if condition else (head, None)
            after = self.statement(body, enter) if body is not None and enter else enter
            for pending in self.continues.pop():
                after = self.join(after, pending)
            if update is not None and after is not None:
                after = self.expression(update, after)
            if body_first:
                after, exit_flow = self.condition(condition, after) if condition else (after, None)
            breaks = self.breaks.pop()
            new_head = self.join(head, after)
            if _same(new_head, head):
                break
            head = new_head
        result = exit_flow
        for pending in breaks:
            result = self.join(result, pending)
        return result

    def _while_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        return self._loop(
            flow, node.child_by_field_name("condition"), node.child_by_field_name("body"), None
        )

    def _do_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        return self._loop(
            flow,
            node.child_by_field_name("condition"),
            node.child_by_field_name("body"),
            None,
            body_first=True,
        )

    def _for_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        initializer = node.child_by_field_name("initializer")
        if initializer is not None:
            result = self.statement(initializer, flow)
            if result is None:
                return None
            flow = result
        return self._loop(
            flow,
            node.child_by_field_name("condition"),
            node.child_by_field_name("body"),
            node.child_by_field_name("update"),
        )

    def _switch_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        condition = node.child_by_field_name("condition")
        entry = self.expression(condition, flow) if condition is not None else flow
        body = node.child_by_field_name("body")
        if body is None or entry is None:
            return entry
        self.breaks.append([])
        running: Flow | None = None
        has_default = False
        for child in body.named_children:
            if child.type == "case_statement":
                if child.child_by_field_name("value") is None:
                    has_default = True
                running = self.join(running, entry)
                for statement in child.named_children:
                    if statement == child.child_by_field_name("value") or (
                        statement.type == "comment"
                    ):
                        continue
                    running = (
                        self.statement(statement, running)
                        if running
                        else (self.statement(statement, None))
                    )
            else:
                running = self.statement(child, running) if running else None
        result = running
        for pending in self.breaks.pop():
            result = self.join(result, pending)
        if not has_default:
            result = self.join(result, entry)
        return result

    def _return_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        for child in node.named_children:
            result = self.expression(child, flow)
            if result is None:
                return None
            flow = result
        return None

    def _break_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        if self.breaks:
            self.breaks[-1].append(flow.copy())
        return None

    def _continue_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        if self.continues:
            self.continues[-1].append(flow.copy())
        return None

    def _goto_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        label = node.child_by_field_name("label")
        if label is not None and label.text:
            name = label.text.decode()
            self.labels[name] = self.join(self.labels.get(name), flow)
        return None

    def _labeled(self, node: tree_sitter.Node, flow: Flow | None) -> Flow | None:
        label = node.child_by_field_name("label")
        name = label.text.decode() if label is not None and label.text else ""
        merged = self.join(flow, self.labels.get(name))
        inner = [c for c in node.named_children if c != label and c.type != "comment"]
        for statement in inner:
            merged = self.statement(statement, merged) if merged is not None else None
        return merged

    def _labeled_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        return self._labeled(node, flow)

    def _preproc_branches(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        """`#if`/`#ifdef` inside a function: either branch may be compiled."""
        alternative = node.child_by_field_name("alternative")
        condition = node.child_by_field_name("condition")
        name = node.child_by_field_name("name")
        running: Flow | None = flow
        for child in node.named_children:
            if child in (alternative, condition, name) or child.type == "comment":
                continue
            running = (
                self.statement(child, running)
                if running is not None
                else (self.statement(child, None))
            )
        if node.type == "preproc_else":
            return running  # the last branch of an #if: taken when no other one is
        other = self._preproc_branches(alternative, flow) if alternative is not None else flow
        return self.join(running, other)

    _preproc_if = _preproc_branches
    _preproc_ifdef = _preproc_branches
    _preproc_elif = _preproc_branches
    _preproc_elifdef = _preproc_branches
    _preproc_else = _preproc_branches

    def _ERROR(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        for child in node.named_children:
            result = self.statement(child, flow)
            flow = result if result is not None else flow
        return flow

    def _comment(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        return flow

    def _attributed_statement(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        for child in node.named_children:
            if child.type != "attribute_declaration":
                return self.statement(child, flow)
        return flow

    # -- expressions ------------------------------------------------------------------------

    def expression(self, node: tree_sitter.Node | None, flow: Flow | None) -> Flow | None:
        if node is None or flow is None:
            return flow
        kind = node.type
        if kind == "call_expression":
            return self._call(node, flow)
        if kind == "assignment_expression":
            return self._assignment(node, flow)
        if kind == "update_expression":
            argument = node.child_by_field_name("argument")
            flow = self.expression(argument, flow)
            key = self.key(argument, flow) if argument is not None else None
            if key and flow is not None:
                self._kill(flow, key)
            return flow
        if kind == "conditional_expression":
            then_flow, else_flow = self.condition(node.child_by_field_name("condition"), flow)
            return self.join(
                self.expression(node.child_by_field_name("consequence"), then_flow),
                self.expression(node.child_by_field_name("alternative"), else_flow),
            )
        if kind == "binary_expression" and _operator(node) in ("&&", "||"):
            true_flow, false_flow = self.condition(node, flow)
            return self.join(true_flow, false_flow)
        for child in node.named_children:
            flow = self.expression(child, flow)
            if flow is None:
                return None
        return flow

    def _call(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        name = _callee(node)
        arguments = _arguments(node)
        for argument in arguments:
            result = self.expression(argument, flow)
            if result is None:
                return None
            flow = result
        if name is None:
            return flow
        if name in self.watched or (name in self.rule.predicates and name in self.rule.watch):
            self._record(node, name, arguments, flow)
        elif name in self.summaries:
            self._check_summary(node, name, arguments, flow)
        if name in self.rule.writers:
            index = self.rule.writers[name]
            if index < len(arguments):
                target = self.key(arguments[index], flow)
                if target:
                    self._kill(flow, _deref(target))
        return flow

    def _assignment(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        before = self.value(right, flow) if right is not None else None
        source = self._derived_source(right, flow) if right is not None else None
        result = self.expression(right, flow)
        if result is None or left is None:
            return result
        target = self.key(left, result)
        if target is None:
            return result
        if _operator(node) == "=" and right is not None:
            self._assign(target, right, result, node, before, source)
        else:
            self._kill(result, target)
        return result

    def _assign(
        self,
        target: str,
        right: tree_sitter.Node,
        flow: Flow,
        node: tree_sitter.Node,
        value: Value | None,
        source: str | None,
    ) -> None:
        self._kill(flow, target)
        if source is not None:
            flow.derived[target] = source
            return
        if value is not None:
            event = Event(_line(node), _text(node), f"{target} gets {_text(right)}")
            flow.values[target] = replace(value, trail=(*value.trail, event))

    def _kill(self, flow: Flow, target: str) -> None:
        """`target` changed: forget it and every value read through it.

        Values derived from it keep what they were: they become snapshots."""
        pattern = _mention_pattern(target)

        def mentions(key: str) -> bool:
            return key == target or (target in key and pattern.search(key) is not None)

        hit = [k for k in flow.values if mentions(k)]
        for key, source in list(flow.derived.items()):
            if source in hit and not mentions(key):
                flow.values[key] = flow.values[source]
                del flow.derived[key]
        for key in hit:
            del flow.values[key]
        for key in [k for k, v in flow.derived.items() if mentions(k) or mentions(v)]:
            del flow.derived[key]

    # -- conditions -------------------------------------------------------------------------

    def condition(
        self, node: tree_sitter.Node | None, flow: Flow | None
    ) -> tuple[Flow | None, Flow | None]:
        if node is None or flow is None:
            return flow, flow
        kind = node.type
        if kind in ("parenthesized_expression", "condition_clause"):
            inner = [c for c in node.named_children if c.type != "comment"]
            if len(inner) == 1:
                return self.condition(inner[0], flow)
            for child in inner[:-1]:
                flow = self.statement(child, flow) if flow is not None else None
            return self.condition(inner[-1], flow) if inner else (flow, flow)
        if kind == "unary_expression" and _operator(node) == "!":
            true_flow, false_flow = self.condition(node.child_by_field_name("argument"), flow)
            return false_flow, true_flow
        if kind == "binary_expression":
            operator = _operator(node)
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            if operator == "&&":
                left_true, left_false = self.condition(left, flow)
                right_true, right_false = self.condition(right, left_true)
                return right_true, self.join(left_false, right_false)
            if operator == "||":
                left_true, left_false = self.condition(left, flow)
                right_true, right_false = self.condition(right, left_false)
                return self.join(left_true, right_true), right_false
            if operator in ("==", "!=") and left is not None and right is not None:
                tested = left if _text(right) in _ZERO else right if _text(left) in _ZERO else None
                if tested is not None:
                    true_flow, false_flow = self.condition(tested, flow)
                    return (false_flow, true_flow) if operator == "==" else (true_flow, false_flow)
        if kind == "call_expression":
            return self._call_condition(node, flow)
        after = self.expression(node, flow)
        return after, after.copy() if after is not None else None

    def _call_condition(
        self, node: tree_sitter.Node, flow: Flow
    ) -> tuple[Flow | None, Flow | None]:
        name = _callee(node)
        arguments = _arguments(node)
        if name is not None and name in self.rule.transparent:
            index = self.rule.transparent[name]
            for position, argument in enumerate(arguments):
                if position != index:
                    result = self.expression(argument, flow)
                    if result is None:
                        return None, None
                    flow = result
            if index < len(arguments):
                return self.condition(arguments[index], flow)
        after = self._call(node, flow)
        if after is None or name is None or name not in self.rule.predicates:
            return after, after.copy() if after is not None else None
        predicate = self.rule.predicates[name]
        if predicate.argument >= len(arguments):
            return after, after.copy()
        argument = arguments[predicate.argument]
        key = self._tested_key(argument, after)
        if key is None:
            return after, after.copy()
        value = self.lookup(key, after)
        line, text = _line(node), _text(node)
        true_event = Event(line, text, "true")
        false_event = Event(line, text, "false")
        return (
            self._narrow(after.copy(), key, value, predicate.true & self.live, true_event),
            self._narrow(after.copy(), key, value, predicate.false & self.live, false_event),
        )

    def _narrow(
        self, flow: Flow, key: str, value: Value, allowed: frozenset[str], event: Event
    ) -> Flow | None:
        if not value.tracked:
            return flow
        cases = value.cases & allowed
        if not cases:
            return None
        removed = value.cases - cases
        excluded = value.excluded + tuple((case, event) for case in sorted(removed))
        trail = (*value.trail, event) if cases & self.rule.new_cases else value.trail
        flow.values[key] = Value(cases, trail, excluded, value.origin)
        return flow

    def _tested_key(self, argument: tree_sitter.Node, flow: Flow) -> str | None:
        """The tracked value a predicate argument stands for (through derivations)."""
        if argument.type == "call_expression" and _callee(argument) in self.rule.derive:
            inner = _arguments(argument)
            index = self.rule.derive[_callee(argument) or ""]
            return self._tested_key(inner[index], flow) if index < len(inner) else None
        key = self.key(argument, flow)
        if key is None:
            return None
        return flow.derived.get(key, key)

    def _derived_source(self, node: tree_sitter.Node, flow: Flow) -> str | None:
        """The value `node` is derived from: through a derivation, or a copy of a derived one."""
        node = _strip(node)
        copied = self.key(node, flow)
        if copied is not None and copied in flow.derived:
            return flow.derived[copied]
        if node.type == "call_expression" and _callee(node) in self.rule.derive:
            inner = _arguments(node)
            index = self.rule.derive[_callee(node) or ""]
            if index < len(inner):
                key = self.key(inner[index], flow)
                if key is not None:
                    return flow.derived.get(key, key)
        return None

    # -- values -----------------------------------------------------------------------------

    def lookup(self, key: str, flow: Flow) -> Value:
        key = flow.derived.get(key, key)
        value = flow.values.get(key)
        if value is None:
            value = Value(self.live, origin=key)
            flow.values[key] = value
        return value

    def value(self, node: tree_sitter.Node, flow: Flow) -> Value | None:
        node = _strip(node)
        if node.type == "call_expression":
            name = _callee(node) or ""
            arguments = _arguments(node)
            if name in self.rule.constructors:
                return Value(self.rule.constructors[name] & self.live)
            if name in self.rule.preserve:
                index = self.rule.preserve[name]
                return self.value(arguments[index], flow) if index < len(arguments) else None
            if name in self.rule.derive:
                index = self.rule.derive[name]
                return self.value(arguments[index], flow) if index < len(arguments) else None
            if name and name not in self.rule.readers:
                # Not a value the rule tracks (an entry from the swap allocator, a pmd's
                # entry): no case of the rule can be in it.
                return Value(frozenset(), untracked=f"{name}()")
        if node.type == "conditional_expression":
            consequence = node.child_by_field_name("consequence")
            alternative = node.child_by_field_name("alternative")
            if consequence is None or alternative is None:
                return None
            then_flow, else_flow = self.condition(
                node.child_by_field_name("condition"), flow.copy()
            )
            first = self.value(consequence, then_flow) if then_flow is not None else None
            second = self.value(alternative, else_flow) if else_flow is not None else None
            if first is None or second is None:
                return first or second
            return _join_values(first, second, self.rule.new_cases)
        key = self.key(node, flow)
        if key is not None:
            return self.lookup(key, flow)
        if node.type == "call_expression" and (_callee(node) or "") in self.rule.readers:
            return Value(self.live)  # read through a pointer we cannot name: any case
        if node.type in (
            "call_expression",
            "initializer_list",
            "compound_literal_expression",
            "number_literal",
            "binary_expression",
        ):
            return Value(frozenset(), untracked=_text(node)[:60])
        return None

    def key(self, node: tree_sitter.Node | None, flow: Flow | None = None) -> str | None:
        """A canonical name for an lvalue-like expression: `pte`, `*ptep`, `vmf->orig_pte`."""
        if node is None:
            return None
        node = _strip(node)
        kind = node.type
        if kind == "identifier":
            return _text(node)
        if kind == "pointer_expression":
            argument = self.key(node.child_by_field_name("argument"), flow)
            if argument is None:
                return None
            operator = _operator(node)
            if operator == "*":
                return argument[1:] if argument.startswith("&") else f"*{argument}"
            if operator == "&":
                return argument[1:] if argument.startswith("*") else f"&{argument}"
            return None
        if kind == "field_expression":
            base = self.key(node.child_by_field_name("argument"), flow)
            field_node = node.child_by_field_name("field")
            if base is None or field_node is None:
                return None
            operator = "->" if b"->" in (node.text or b"") else "."
            if operator == "->" and base.startswith("&"):
                return f"{base[1:]}.{_text(field_node)}"
            return f"{base}{operator}{_text(field_node)}"
        if kind == "subscript_expression":
            base = self.key(node.child_by_field_name("argument"), flow)
            subscript = node.child_by_field_name("index")
            if base is None or subscript is None:
                return None
            return f"{base}[{_text(subscript)}]"
        if kind == "call_expression":
            name = _callee(node)
            if name in self.rule.readers:
                arguments = _arguments(node)
                index = self.rule.readers[name or ""]
                if index < len(arguments):
                    inner = self.key(arguments[index], flow)
                    return _deref(inner) if inner else None
        return None

    # -- uses -------------------------------------------------------------------------------

    def _record(
        self, node: tree_sitter.Node, name: str, arguments: list[tree_sitter.Node], flow: Flow
    ) -> None:
        index = self._argument_index(name)
        argument = arguments[index] if index < len(arguments) else None
        key = self._tested_key(argument, flow) if argument is not None else None
        if key is not None:
            value = self.lookup(key, flow)
        else:
            value = (self.value(argument, flow) if argument is not None else None) or Value(
                self.live
            )
        site = self.sites.get(node.start_byte)
        if site is None:
            site = SiteRecord(
                node.start_byte,
                _line(node),
                node.start_point[1] + 1,
                name,
                _text(argument) if argument is not None else "",
                key,
            )
            self.sites[node.start_byte] = site
        site.cases |= value.cases
        site.value = (
            value if site.value is None else _join_values(site.value, value, self.rule.new_cases)
        )
        forbidden = self.rule.forbidden.get(name)
        if forbidden is None or not value.tracked:
            return
        violating = value.cases & forbidden.cases & self.live & self.rule.new_cases
        if violating:
            site.violating |= violating
            if site.violation is None:
                site.violation = value
            site.from_parameter = self._parameter_root(value)
            site.parameter_holds_value = self._holds_value(site.from_parameter)

    def _argument_index(self, name: str) -> int:
        if name in self.rule.forbidden:
            return self.rule.forbidden[name].argument
        if name in self.rule.predicates:
            return self.rule.predicates[name].argument
        return self.rule.derive.get(name, 0)

    def _holds_value(self, root: tuple[int, str, str] | None) -> bool:
        """A parameter of the tracked type itself, or a field read through one (vmf->orig_pte):
        whatever its callers pass is a value of that type, so no visible caller means no guard."""
        if root is None:
            return False
        index, name, path = root
        declared = self.parameter_types[index] if index < len(self.parameter_types) else ""
        return path != name or bool(self.rule.value and self.rule.value in declared)

    def _parameter_root(self, value: Value) -> tuple[int, str, str] | None:
        """When the value is a by-value parameter or a field of one, (index, name, path)."""
        origin = value.origin
        if origin is None or origin.startswith(("*", "&")):
            return None
        root = re.match(r"[A-Za-z_]\w*", origin)
        if root is None or root.group(0) not in self.parameters:
            return None
        return self.parameters.index(root.group(0)), root.group(0), origin

    def _check_summary(
        self, node: tree_sitter.Node, name: str, arguments: list[tree_sitter.Node], flow: Flow
    ) -> None:
        for requirement in self.summaries[name]:
            if requirement.parameter >= len(arguments):
                continue
            argument_key = self.key(arguments[requirement.parameter], flow)
            if argument_key is None:
                continue
            key = _substitute(requirement.path, requirement.parameter_name, argument_key)
            value = self.lookup(flow.derived.get(key, key), flow)
            if not value.tracked:
                continue
            violating = value.cases & requirement.cases & self.live
            site = self.sites.get(node.start_byte)
            if site is None:
                site = SiteRecord(
                    node.start_byte,
                    _line(node),
                    node.start_point[1] + 1,
                    name,
                    _text(arguments[requirement.parameter]),
                    key,
                    requirement=requirement,
                )
                self.sites[node.start_byte] = site
            site.cases |= value.cases
            site.value = (
                value
                if site.value is None
                else _join_values(site.value, value, self.rule.new_cases)
            )
            if violating:
                site.violating |= violating
                if site.violation is None:
                    site.violation = value
                site.from_parameter = self._parameter_root(value)
                site.parameter_holds_value = self._holds_value(site.from_parameter)
            site.parameter_holds_value = self._holds_value(site.from_parameter)


@functools.lru_cache(maxsize=4096)
def _mention_pattern(target: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.>]){re.escape(target)}(?![\w])")


def _substitute(path: str, parameter: str, argument: str) -> str:
    rest = path[len(parameter) :]
    if rest.startswith("->") and argument.startswith("&"):
        return f"{argument[1:]}.{rest[2:]}"
    return f"{argument}{rest}"


def _deref(key: str) -> str:
    return key[1:] if key.startswith("&") else f"*{key}"


def _strip(node: tree_sitter.Node) -> tree_sitter.Node:
    while node.type in ("parenthesized_expression", "cast_expression"):
        inner = node.child_by_field_name("value") if node.type == "cast_expression" else None
        if inner is None:
            named = [c for c in node.named_children if c.type != "comment"]
            if len(named) != 1:
                return node
            inner = named[0]
        node = inner
    return node


def _callee(node: tree_sitter.Node) -> str | None:
    function = node.child_by_field_name("function")
    if function is not None and function.type == "identifier" and function.text:
        return function.text.decode()
    return None


def _arguments(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    arguments = node.child_by_field_name("arguments")
    if arguments is None:
        return []
    return [c for c in arguments.named_children if c.type != "comment"]


def _operator(node: tree_sitter.Node) -> str:
    operator = node.child_by_field_name("operator")
    return operator.type if operator is not None else ""


def _text(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return re.sub(r"\s+", " ", node.text.decode("utf-8", "replace")).strip()


def _line(node: tree_sitter.Node) -> int:
    return node.start_point[0] + 1


def _declared_name(node: tree_sitter.Node | None) -> str | None:
    while node is not None and node.type != "identifier":
        node = node.child_by_field_name("declarator")
    return _text(node) if node is not None else None


def parameter_types(function: tree_sitter.Node) -> list[str]:
    """The declared type of each parameter (`pte_t`, `struct vm_fault *`), in order."""
    types = []
    for parameter in _parameter_nodes(function):
        declarator = parameter.child_by_field_name("declarator")
        text = _text(parameter)
        name = _declared_name(declarator) if declarator is not None else None
        types.append(text[: text.rfind(name)].strip() if name and name in text else text)
    return types


def _parameter_nodes(function: tree_sitter.Node) -> list[tree_sitter.Node]:
    declarator = function.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    if declarator is None:
        return []
    parameter_list = declarator.child_by_field_name("parameters")
    if parameter_list is None:
        return []
    return [p for p in parameter_list.named_children if p.type == "parameter_declaration"]


def parameters(function: tree_sitter.Node) -> list[str]:
    """Parameter names of a function_definition, in order."""
    return [
        _declared_name(parameter.child_by_field_name("declarator")) or ""
        for parameter in _parameter_nodes(function)
    ]
