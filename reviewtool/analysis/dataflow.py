"""Path-sensitive case analysis of one C function against a contract rule.

At every program point each tracked value (a pte, `*ptep`, `vmf->orig_pte`, ...) has the set of
cases it may be in. Predicates narrow the set on each branch (`if`, `&&`, `||`, `!`, ternaries,
`switch`), so do comparisons the rule describes (`swp_type(entry) != type`) and tests of a
callee's result whose summary says what it means for the arguments (`if (!si)` after
`si = get_swap_device(entry)`). Early exits (`return`, `continue`, `break`, `goto`) end a path,
loops iterate to a fixpoint, copies (`pte_t pte = *ptep;`) carry the set, and values derived
from a tracked value (`entry = pte_to_swp_entry(pte)`) narrow the value they came from. Each
value also carries one witness trail: the guards along a path that kept its cases, which
becomes a finding's evidence.

Where a value comes from decides whether it carries cases at all (its root):
- a load of the tracked type through a pointer (`*ptep`, `ptep_get(ptep)`, `*pvmw->pte`) is the
  tracked object: every case;
- a parameter of the tracked or a derived type, or such a member of a struct reached through a
  parameter (`vmf->orig_pte`), carries what the callers pass (the function's summary is checked
  at each caller);
- anything else (an entry from the swap allocator, a member of another struct, a constant, an
  untyped expression) carries no case.

Calls of a function with a summary (its parameter reaches a forbidden use unguarded) are checked
like forbidden uses, with the callee's requirement mapped onto the arguments.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from reviewtool.analysis.csyntax import (
    call_arguments,
    callee_name,
    cast_type,
    comma_parts,
    declared_name,
    line_of,
    node_text,
    operator_of,
    unwrap,
)
from reviewtool.analysis.returns import ANY, Kind, ResultSummary, compare, constant, truth
from reviewtool.analysis.rules import Comparison, ContractRule
from reviewtool.analysis.sites import Requirement, SiteRecorder, substitute
from reviewtool.analysis.typeinfo import CType, Scope, StructLookup, Typer, parse_key
from reviewtool.analysis.values import (
    Event,
    Flow,
    Link,
    Root,
    Value,
    join,
    join_values,
    same,
    untracked,
)

if TYPE_CHECKING:
    import tree_sitter

_ZERO = {"0", "false", "NULL", "0UL", "0L"}
_LOOP_ROUNDS = 4
_COMPARISONS = ("==", "!=", "<", ">", "<=", ">=")
# node types a constant (`0`, `-EIO`, `NULL`, `VM_FAULT_OOM`, `true`) can be
_CONSTANT_NODES = frozenset(
    {"number_literal", "identifier", "unary_expression", "null", "true", "false",
     "parenthesized_expression"}
)  # fmt: skip
_MIRROR = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


class FunctionAnalysis:
    """Run the analysis over one function body."""

    def __init__(
        self,
        rule: ContractRule,
        live: frozenset[str],
        summaries: Mapping[str, tuple[Requirement, ...]],
        function: str,
        path: str,
        node: tree_sitter.Node | None = None,
        structs: StructLookup | None = None,
        results: Mapping[str, ResultSummary] | None = None,
    ) -> None:
        self.rule = rule
        self.live = live
        self.summaries = summaries
        self.results = results or {}
        self.function = function
        self.path = path
        self.scope = Scope(node)
        self.parameters = self.scope.parameters
        self.typer = Typer(self.scope, structs or (lambda name: None), self._slot_type)
        self.recorder = SiteRecorder(rule, live, self)
        self.returns: list[tuple[frozenset[Kind], dict[str, frozenset[str]]]] = []
        self.labels: dict[str, Flow | None] = {}
        self.breaks: list[list[Flow | None]] = []
        self.continues: list[list[Flow | None]] = []
        self.updated: list[set[str]] = []
        self.casts: dict[str, CType] = {}  # keys of pointers cast to the tracked type
        self.key_types: dict[str, CType | None] = {}
        self.watched = set(rule.watch) | set(rule.forbidden)

    def join(self, a: Flow | None, b: Flow | None) -> Flow | None:
        return join(a, b, self.rule.new_cases, self._fill)

    def _fill(self, key: str, flow: Flow) -> Value:
        """What reading `key` on a path that has not read it gives (without recording it)."""
        return self.initial(key, flow, 0)

    def _holds_values(self, target: str) -> bool:
        """Whether a variable can hold a value with cases: one of the tracked or a derived
        type, or of a type not known. (An `int` or a `struct page *` never does.)"""
        ctype = self._key_type(target)
        return ctype is None or (ctype.depth == 0 and self.rule.type_cases(ctype.base) is not None)

    def _key_type(self, key: str) -> CType | None:
        if key not in self.key_types:
            ctype = self.typer.key_type(key)
            if key.startswith("*") and key[1:] in self.casts:
                ctype = self.casts[key[1:]].deref()
            self.key_types[key] = ctype
        return self.key_types[key]

    def _slot_type(self, kind: str) -> CType | None:
        return CType(self.rule.value, 1) if self.rule.value else None

    # -- statements -------------------------------------------------------------------------

    def run(self, body: tree_sitter.Node) -> None:
        """Analyse the body; again while a backward `goto` brings new states to its label."""
        for _ in range(_LOOP_ROUNDS):
            before = dict(self.labels)
            self.returns = []
            self.statement(body, Flow())
            if all(same(before.get(k), v) for k, v in self.labels.items()):
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
                name = declared_name(target)
                if value is not None:
                    holds = name is not None and self._holds_values(name)
                    # the value read, before side effects (only for a variable that can hold one)
                    before = self.value(value, flow) if holds else None
                    source = self._derived_source(value, flow) if holds else None
                    after = self.expression(value, flow)
                    if after is None:
                        return None
                    flow = after
                    if name:
                        self._assign(name, value, flow, child, before, source)
            elif child.type in ("identifier", "pointer_declarator", "array_declarator"):
                name = declared_name(child)
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
            # The round works on a copy: the body updates its flow in place, and the head must
            # stay as it was to tell whether this round changed anything.
            current = head.copy() if head is not None else None
            if body_first:
                enter: Flow | None = current
            elif condition is not None and current is not None:
                enter, exit_flow = self.condition(condition, current)
            else:
                enter, exit_flow = current, None
            after = self.statement(body, enter) if body is not None and enter else enter
            for pending in self.continues.pop():
                after = self.join(after, pending)
            if update is not None and after is not None:
                after = self.expression(update, after)
            if body_first:
                after, exit_flow = self.condition(condition, after) if condition else (after, None)
            breaks = self.breaks.pop()
            new_head = self.join(head, after)
            if same(new_head, head):
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
        returned = next((c for c in node.named_children if c.type != "comment"), None)
        kinds = self.return_kinds(returned, flow) if returned is not None else None
        for child in node.named_children:
            result = self.expression(child, flow)
            if result is None:
                return None
            flow = result
        if kinds is not None and self.parameters:
            self.returns.append((kinds, self._parameter_cases(flow)))
        return None

    def _parameter_cases(self, flow: Flow) -> dict[str, frozenset[str]]:
        """The cases of every location read from the parameters, at this point: the value of
        the location, or of the local copy that holds it."""
        locations = {
            value.root.key
            for value in flow.values.values()
            if value.tracked and value.root is not None and value.root.parameters
        }
        cases = {}
        for location in locations:
            holder = self.holder(location, flow)
            value = flow.values.get(holder) or flow.values.get(location)
            if value is not None and value.tracked:
                cases[location] = value.cases
        return cases

    def holder(self, location: str, flow: Flow) -> str:
        """The key whose value a callee re-reading `location` would see."""
        copy = flow.copies.get(location)
        return copy if copy is not None and copy in flow.values else location

    def return_kinds(self, node: tree_sitter.Node, flow: Flow) -> frozenset[Kind]:
        node = unwrap(node)
        kind = constant(node_text(node))
        if kind is not None:
            return frozenset({kind})
        if node.type == "conditional_expression":
            consequence = node.child_by_field_name("consequence")
            alternative = node.child_by_field_name("alternative")
            if consequence is not None and alternative is not None:
                return self.return_kinds(consequence, flow) | self.return_kinds(alternative, flow)
        key = self.key(node, flow)
        if key is not None and key in flow.consts:
            return flow.consts[key]
        return frozenset({ANY})

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
        if kind == "comma_expression":
            return self._comma(node, flow)
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
        if kind == "binary_expression" and operator_of(node) in ("&&", "||"):
            true_flow, false_flow = self.condition(node, flow)
            return self.join(true_flow, false_flow)
        for child in node.named_children:
            flow = self.expression(child, flow)
            if flow is None:
                return None
        return flow

    def _comma(self, node: tree_sitter.Node, flow: Flow | None) -> Flow | None:
        """`pte++, addr += PAGE_SIZE`: a pointer into a page table advanced in step with the
        address it was made from still points at the slot of that address."""
        self.updated.append(set())
        slots = dict(flow.slots) if flow is not None else {}
        for part in comma_parts(node):
            flow = self.expression(part, flow)
        updated = self.updated.pop()
        if self.updated:
            self.updated[-1] |= updated
        if flow is not None:
            self._keep_lockstep(flow, slots, updated)
        return flow

    def _keep_lockstep(self, flow: Flow, slots: dict[str, str], updated: set[str]) -> None:
        for pointer, slot in slots.items():
            parsed = parse_key(slot)
            names = set(parsed.root_names()) if parsed is not None else set()
            if pointer in updated and names & updated and pointer not in flow.slots:
                flow.slots[pointer] = slot

    def _call(self, node: tree_sitter.Node, flow: Flow) -> Flow | None:
        name = callee_name(node)
        arguments = call_arguments(node)
        for argument in arguments:
            result = self.expression(argument, flow)
            if result is None:
                return None
            flow = result
        if name is None:
            return flow
        if name in self.watched or (name in self.rule.predicates and name in self.rule.watch):
            self.recorder.use(node, name, arguments, flow)
        elif name in self.summaries:
            self.recorder.call(node, name, arguments, self.summaries[name], flow)
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
        early = self.key(left, flow) if left is not None else None
        holds = right is not None and (early is None or self._holds_values(early))
        before = self.value(right, flow) if holds and right is not None else None
        source = self._derived_source(right, flow) if holds and right is not None else None
        result = self.expression(right, flow)
        if result is None or left is None:
            return result
        target = self.key(left, result)
        if target is None:
            return result
        if operator_of(node) == "=" and right is not None:
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
        right = unwrap(right)
        slot = self._slot(right, flow)
        if slot is not None:
            flow.slots[target] = slot
        link = self._link(right, flow)
        if link is not None:
            flow.links[target] = link
        kind = constant(node_text(right)) if right.type in _CONSTANT_NODES else None
        if kind is not None:
            flow.consts[target] = frozenset({kind})
        if source is not None and source != target:
            flow.derived[target] = source
            return
        location = self.tested_key(right, flow) if value is not None and value.tracked else None
        if location is not None and location != target:
            flow.copies[location] = target
        if value is not None and value.tracked:
            event = Event(line_of(node), node_text(node), f"{target} gets {node_text(right)}")
            flow.values[target] = replace(value, trail=(*value.trail, event))
        elif value is not None:
            flow.values[target] = value

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
        for key in [
            k
            for k, link in flow.links.items()
            if mentions(k) or any(mentions(caller) for _, caller in link.keys)
        ]:
            del flow.links[key]
        for key in [k for k, slot in flow.slots.items() if k == target or mentions(slot)]:
            del flow.slots[key]
        flow.consts.pop(target, None)
        for key in [k for k, copy in flow.copies.items() if mentions(k) or mentions(copy)]:
            del flow.copies[key]
        flow.killed = flow.killed | {target}
        if self.updated:
            self.updated[-1].add(target)

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
        if kind == "comma_expression":
            parts = comma_parts(node)
            self.updated.append(set())
            slots = dict(flow.slots)
            running: Flow | None = flow
            for part in parts[:-1]:
                running = self.expression(part, running)
            updated = self.updated.pop()
            if running is not None:
                self._keep_lockstep(running, slots, updated)
            return self.condition(parts[-1], running)
        if kind == "unary_expression" and operator_of(node) == "!":
            true_flow, false_flow = self.condition(node.child_by_field_name("argument"), flow)
            return false_flow, true_flow
        if kind == "binary_expression":
            operator = operator_of(node)
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
            if operator in _COMPARISONS and left is not None and right is not None:
                return self._comparison(node, operator, left, right, flow)
        if kind == "call_expression":
            return self._call_condition(node, flow)
        after = self.expression(node, flow)
        if after is not None:
            result = self._result_of(node, after)
            if result is not None:
                return self._result_test(node, result, truth, after)
        return after, after.copy() if after is not None else None

    def _comparison(
        self,
        node: tree_sitter.Node,
        operator: str,
        left: tree_sitter.Node,
        right: tree_sitter.Node,
        flow: Flow,
    ) -> tuple[Flow | None, Flow | None]:
        if operator in ("==", "!="):
            tested = (
                left if node_text(right) in _ZERO else right if node_text(left) in _ZERO else None
            )
            if tested is not None and self._result_of(tested, flow) is None:
                true_flow, false_flow = self.condition(tested, flow)
                return (false_flow, true_flow) if operator == "==" else (true_flow, false_flow)
        after = self.expression(node, flow)
        if after is None:
            return None, None
        for side, other, op in ((left, right, operator), (right, left, _MIRROR[operator])):
            operand = constant(node_text(other))
            result = self._result_of(side, after)
            if result is not None and operand is not None:

                def outcome(kind: Kind, op: str = op, operand: Kind = operand) -> frozenset[bool]:
                    return compare(kind, op, operand)

                return self._result_test(node, result, outcome, after)
            narrowed = self._rule_comparison(node, side, other, op, after)
            if narrowed is not None:
                return narrowed
        return after, after.copy()

    def _rule_comparison(
        self,
        node: tree_sitter.Node,
        side: tree_sitter.Node,
        other: tree_sitter.Node,
        operator: str,
        flow: Flow,
    ) -> tuple[Flow | None, Flow | None] | None:
        """`swp_type(entry) != type`: a comparison the rule describes."""
        side = unwrap(side)
        name = callee_name(side) if side.type == "call_expression" else None
        if name is None:
            return None
        negate = operator in ("!=", ">=", "<=")
        base = {"!=": "==", ">=": "<", "<=": ">"}.get(operator, operator)
        spec = self._comparison_spec(name, base, other, flow)
        if spec is None:
            return None
        arguments = call_arguments(side)
        if spec.argument >= len(arguments):
            return None
        key = self.tested_key(arguments[spec.argument], flow)
        if key is None:
            return None
        value = self.lookup(key, flow, line_of(node))
        true_event = Event(line_of(node), node_text(node), "true", "guard")
        false_event = Event(line_of(node), node_text(node), "false", "guard")
        true_cases, false_cases = spec.true & self.live, spec.false & self.live
        if negate:
            true_cases, false_cases = false_cases, true_cases
        return (
            self._narrow(flow.copy(), key, value, true_cases, true_event),
            self._narrow(flow.copy(), key, value, false_cases, false_event),
        )

    def _comparison_spec(
        self, name: str, operator: str, other: tree_sitter.Node, flow: Flow
    ) -> Comparison | None:
        operand = node_text(other)
        specs = [c for c in self.rule.comparisons if c.function == name and c.operator == operator]
        exact = next((c for c in specs if c.operand == operand), None)
        if exact is not None:
            return exact
        other = unwrap(other)
        variable = other.type in ("identifier", "field_expression") and constant(operand) is None
        return next((c for c in specs if c.operand == "*"), None) if variable else None

    def _call_condition(
        self, node: tree_sitter.Node, flow: Flow
    ) -> tuple[Flow | None, Flow | None]:
        name = callee_name(node)
        arguments = call_arguments(node)
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
        if after is None or name is None:
            return after, after.copy() if after is not None else None
        if name not in self.rule.predicates:
            link = self._result_of(node, after)
            if link is not None:
                return self._result_test(node, link, truth, after)
            return after, after.copy()
        predicate = self.rule.predicates[name]
        if predicate.argument >= len(arguments):
            return after, after.copy()
        argument = arguments[predicate.argument]
        key = self.tested_key(argument, after)
        if key is None:
            return after, after.copy()
        value = self.lookup(key, after, line_of(node))
        line, text = line_of(node), node_text(node)
        true_event = Event(line, text, "true", "guard")
        false_event = Event(line, text, "false", "guard")
        return (
            self._narrow(after.copy(), key, value, predicate.true & self.live, true_event),
            self._narrow(after.copy(), key, value, predicate.false & self.live, false_event),
        )

    # -- results of callees -----------------------------------------------------------------

    def _summary_of(self, name: str) -> ResultSummary | None:
        return self.results.get(name) or self.rule.results.get(name)

    def _link(self, node: tree_sitter.Node, flow: Flow) -> Link | None:
        """What a call's result says about its arguments, keyed by the caller's keys."""
        node = unwrap(node)
        if node.type != "call_expression":
            return None
        name = callee_name(node)
        summary = self._summary_of(name) if name else None
        if summary is None:
            return None
        arguments = call_arguments(node)
        bindings: dict[str, str] = {}
        for index, parameter in enumerate(summary.parameters):
            if index < len(arguments):
                key = self.tested_key(arguments[index], flow)
                if key is not None:
                    bindings[parameter] = key
        keys = []
        for template in {key for _, entries in summary.returns for key, _ in entries}:
            caller = substitute(template, bindings)
            if caller is not None:
                caller = self.holder(self.canonical(caller, flow), flow)
                keys.append((template, flow.derived.get(caller, caller)))
        return Link(summary, tuple(sorted(keys))) if keys else None

    def _result_of(self, node: tree_sitter.Node, flow: Flow) -> Link | None:
        node = unwrap(node)
        if node.type == "call_expression":
            return self._link(node, flow)
        key = self.key(node, flow)
        return flow.links.get(key) if key is not None else None

    def _result_test(
        self,
        node: tree_sitter.Node,
        link: Link,
        outcome: Callable[[Kind], frozenset[bool]],
        flow: Flow,
    ) -> tuple[Flow | None, Flow | None]:
        line, text = line_of(node), node_text(node)
        flows: list[Flow | None] = []
        for wanted in (True, False):
            event = Event(line, text, "true" if wanted else "false", "callee-result")
            allowed = link.summary.allowed(outcome, wanted)
            target: Flow | None = flow.copy()
            feasible = any(wanted in outcome(kind) for kind, _ in link.summary.returns)
            if not feasible:
                flows.append(None)
                continue
            for template, caller in link.keys:
                cases = allowed.get(template)
                if cases is None or target is None:
                    continue
                value = self.lookup(caller, target, line)
                target = self._narrow(target, caller, value, cases & self.live, event)
            flows.append(target)
        return flows[0], flows[1]

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
        flow.values[key] = replace(value, cases=cases, trail=trail, excluded=excluded)
        return flow

    def tested_key(self, argument: tree_sitter.Node, flow: Flow) -> str | None:
        """The tracked value a predicate argument stands for (through derivations)."""
        argument = unwrap(argument)
        if argument.type == "call_expression" and callee_name(argument) in self.rule.derive:
            inner = call_arguments(argument)
            index = self.rule.derive[callee_name(argument) or ""]
            return self.tested_key(inner[index], flow) if index < len(inner) else None
        if argument.type == "call_expression" and callee_name(argument) in self.rule.preserve:
            inner = call_arguments(argument)
            index = self.rule.preserve[callee_name(argument) or ""]
            if index < len(inner) and self.key(argument, flow) is None:
                return self.tested_key(inner[index], flow)
        key = self.key(argument, flow)
        if key is None:
            return None
        return flow.derived.get(key, key)

    def _derived_source(self, node: tree_sitter.Node, flow: Flow) -> str | None:
        """The value `node` is derived from: through a derivation, or a copy of a derived one."""
        node = unwrap(node)
        copied = self.key(node, flow)
        if copied is not None and copied in flow.derived:
            return flow.derived[copied]
        if node.type == "call_expression" and callee_name(node) in self.rule.derive:
            inner = call_arguments(node)
            index = self.rule.derive[callee_name(node) or ""]
            if index < len(inner):
                key = self.key(inner[index], flow)
                if key is not None:
                    return flow.derived.get(key, key)
        return None

    def _slot(self, node: tree_sitter.Node, flow: Flow) -> str | None:
        """`@pte(pmd,addr)` for `pte_offset_map_lock(mm, pmd, addr, &ptl)`."""
        if node.type != "call_expression":
            return None
        name = callee_name(node)
        slot = self.rule.slots.get(name or "")
        if slot is None:
            return None
        arguments = call_arguments(node)
        keys = []
        for index in slot.arguments:
            key = self.key(arguments[index], flow) if index < len(arguments) else None
            if key is None:
                return None
            keys.append(key)
        return f"@{slot.kind}({','.join(keys)})"

    # -- values -----------------------------------------------------------------------------

    def lookup(self, key: str, flow: Flow, line: int = 0) -> Value:
        key = flow.derived.get(key, key)
        value = flow.values.get(key)
        if value is None:
            value = self.initial(key, flow, line)
            flow.values[key] = value
        return value

    def initial(self, key: str, flow: Flow, line: int) -> Value:
        """A key's value where the function has not assigned it: its root decides."""
        parsed = parse_key(key)
        ctype = self._key_type(key)
        if parsed is None or ctype is None:
            return Value(frozenset(), origin=key, untracked=f"`{key}`, whose type is unknown")
        cases = self.rule.type_cases(ctype.base) if ctype.depth == 0 else None
        if cases is None:
            return Value(frozenset(), origin=key, untracked=f"`{key}`, a {_spell(ctype)}")
        names = parsed.root_names()
        killed = any(_mentions(key, target) for target in flow.killed)
        bound = (
            tuple((self.parameters.index(n), n) for n in dict.fromkeys(names))
            if names and all(n in self.parameters for n in names) and not killed
            else ()
        )
        through_pointer = parsed.prefix.endswith("*") or (
            not parsed.prefix and parsed.steps and parsed.steps[-1].kind == "[]"
        )
        if through_pointer:
            if ctype.base != self.rule.value:
                return Value(
                    frozenset(), origin=key, untracked=f"`{key}`, a {ctype.base} read from memory"
                )
            return Value(self.live & cases, origin=key, root=Root("load", key, line, bound))
        if bound:
            return Value(self.live & cases, origin=key, root=Root("parameter", key, line, bound))
        return Value(
            frozenset(), origin=key, untracked=f"`{key}`, which holds no value read from a pte"
        )

    def value(self, node: tree_sitter.Node, flow: Flow) -> Value | None:
        node = unwrap(node)
        if node.type == "call_expression":
            name = callee_name(node) or ""
            arguments = call_arguments(node)
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
                return untracked(f"{name}()")
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
            return join_values(first, second, self.rule.new_cases)
        key = self.key(node, flow)
        if key is not None:
            return self.lookup(key, flow, line_of(node))
        if node.type in ("pointer_expression", "subscript_expression", "call_expression"):
            ctype = self.expression_type(node)
            if ctype is not None and ctype == CType(self.rule.value, 0):
                # a read through a pointer the analysis cannot name: `*(orig_pte + i)`
                text = node_text(node)
                return Value(self.live, origin=None, root=Root("load", text, line_of(node)))
        if node.type in (
            "call_expression",
            "initializer_list",
            "compound_literal_expression",
            "number_literal",
            "binary_expression",
            "pointer_expression",
            "subscript_expression",
        ):
            return untracked(node_text(node)[:60])
        return None

    def expression_type(self, node: tree_sitter.Node) -> CType | None:
        """The type of an expression the analysis has no key for."""
        node = unwrap(node)
        key = self.key(node)
        if key is not None:
            return self.typer.key_type(key)
        kind = node.type
        if kind == "pointer_expression":
            argument = node.child_by_field_name("argument")
            inner = self.expression_type(argument) if argument is not None else None
            if inner is None:
                return None
            return inner.deref() if operator_of(node) == "*" else inner.address()
        if kind == "subscript_expression":
            argument = node.child_by_field_name("argument")
            inner = self.expression_type(argument) if argument is not None else None
            return inner.deref() if inner is not None else None
        if kind == "binary_expression" and operator_of(node) in ("+", "-"):
            for side in ("left", "right"):
                child = node.child_by_field_name(side)
                ctype = self.expression_type(child) if child is not None else None
                if ctype is not None and ctype.depth > 0:
                    return ctype
            return None
        if kind == "call_expression" and (callee_name(node) or "") in self.rule.readers:
            arguments = call_arguments(node)
            index = self.rule.readers[callee_name(node) or ""]
            inner = self.expression_type(arguments[index]) if index < len(arguments) else None
            return inner.deref() if inner is not None else None
        return None

    def key(self, node: tree_sitter.Node | None, flow: Flow | None = None) -> str | None:
        """A canonical name for an lvalue-like expression: `pte`, `*ptep`, `vmf->orig_pte`,
        `*@pte(pmd,addr)` for a pointer known to point at the pte slot of (pmd, addr)."""
        if node is None:
            return None
        cast = cast_type(node)
        node = unwrap(node)
        if cast is not None and cast.base == self.rule.value and cast.depth > 0:
            # `huge_ptep_get((pte_t *)pmd)`: what the pointer points at is read as a pte
            inner = self.key(node, flow)
            if inner is not None and self.casts.get(inner) != cast:
                self.casts[inner] = cast
                self.key_types.pop(f"*{inner}", None)
            return inner
        kind = node.type
        if kind == "identifier":
            return node_text(node)
        if kind == "pointer_expression":
            argument = self.key(node.child_by_field_name("argument"), flow)
            if argument is None:
                return None
            operator = operator_of(node)
            if operator == "*":
                return self._deref_key(argument, flow)
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
                return f"{base[1:]}.{node_text(field_node)}"
            return f"{base}{operator}{node_text(field_node)}"
        if kind == "subscript_expression":
            base = self.key(node.child_by_field_name("argument"), flow)
            subscript = node.child_by_field_name("index")
            if base is None or subscript is None:
                return None
            return f"{base}[{node_text(subscript)}]"
        if kind == "call_expression":
            name = callee_name(node)
            if name in self.rule.readers:
                arguments = call_arguments(node)
                index = self.rule.readers[name or ""]
                if index < len(arguments):
                    inner = self.key(arguments[index], flow)
                    return self._deref_key(inner, flow) if inner else None
        return None

    def canonical(self, key: str, flow: Flow) -> str:
        """A key built by substitution, spelled as this function's flow spells it (a pointer
        known to point at a slot is read as that slot)."""
        if key.startswith("*") and key[1:] in flow.slots:
            return f"*{flow.slots[key[1:]]}"
        return key

    def _deref_key(self, pointer: str, flow: Flow | None) -> str:
        if flow is not None and pointer in flow.slots:
            return f"*{flow.slots[pointer]}"
        return _deref(pointer)

    # -- uses -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _mention_pattern(target: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.>@]){re.escape(target)}(?![\w])")


def _mentions(key: str, target: str) -> bool:
    return key == target or (target in key and _mention_pattern(target).search(key) is not None)


def _spell(ctype: CType) -> str:
    return ctype.base + " " + "*" * ctype.depth if ctype.depth else ctype.base


def _deref(key: str) -> str:
    return key[1:] if key.startswith("&") else f"*{key}"
