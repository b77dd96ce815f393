"""Contract rules: the TOML files in queries/rules/ (format in queries/rules/FORMAT.md)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewtool.analysis.grammar import QUERY_DIR
from reviewtool.analysis.returns import NONZERO, ZERO, ResultSummary
from reviewtool.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RULE_DIR = QUERY_DIR / "rules"


@dataclass(frozen=True)
class Predicate:
    """For which cases a test may be true, and for which it may be false."""

    true: frozenset[str]
    false: frozenset[str]
    argument: int = 0


@dataclass(frozen=True)
class Forbidden:
    argument: int
    cases: frozenset[str]
    why: str


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    doc: str
    exists_if: tuple[str, ...]
    config: str = ""  # the Kconfig symbol without which the case cannot exist ("": always)


@dataclass(frozen=True)
class Comparison:
    """`function(value) OPERATOR operand`: for which cases of the value it may be true/false.
    `operator` is `==`, `<` or `>` (`!=`, `>=`, `<=` are their negations); `operand` is the
    operand's text, or `*` for any variable (not a constant, not a call)."""

    function: str
    argument: int
    operator: str
    operand: str
    true: frozenset[str]
    false: frozenset[str]


@dataclass(frozen=True)
class Slot:
    """A call returning a pointer to the tracked type that is named by some of its arguments:
    `pte_offset_map(pmd, addr)` and `pte_offset_map_lock(mm, pmd, addr, ptl)` both point at
    the pte slot of (pmd, addr)."""

    kind: str
    arguments: tuple[int, ...]


@dataclass(frozen=True)
class ContractRule:
    id: str
    title: str
    value: str
    watch: tuple[str, ...]
    new_cases: frozenset[str]
    cases: Mapping[str, Case]
    predicates: Mapping[str, Predicate]
    derive: Mapping[str, int]
    forbidden: Mapping[str, Forbidden]
    readers: Mapping[str, int]
    writers: Mapping[str, int]
    preserve: Mapping[str, int]
    constructors: Mapping[str, frozenset[str]]
    transparent: Mapping[str, int]
    source: str
    severity: str = "warning"
    derive_types: Mapping[str, str] = field(default_factory=dict)  # derivation -> result type
    types: Mapping[str, frozenset[str]] = field(default_factory=dict)  # derived type -> cases
    comparisons: tuple[Comparison, ...] = ()
    results: Mapping[str, ResultSummary] = field(default_factory=dict)
    slots: Mapping[str, Slot] = field(default_factory=dict)

    @property
    def all_cases(self) -> frozenset[str]:
        return frozenset(self.cases)

    @property
    def names(self) -> frozenset[str]:
        """Every function name the rule gives a meaning to (what makes a file worth parsing)."""
        return frozenset(
            {
                *self.watch,
                *self.predicates,
                *self.derive,
                *self.forbidden,
                *self.results,
                *(c.function for c in self.comparisons),
            }
        )

    @property
    def file_names(self) -> frozenset[str]:
        """The names that make a file worth reading: where a tracked value can be read, tested
        or used. (Comparisons and stated results only narrow values such files already hold.)"""
        return frozenset({*self.watch, *self.predicates, *self.derive, *self.forbidden})

    @property
    def search_names(self) -> frozenset[str]:
        """Every name whose files a tree audit reads: file_names and the case identifiers."""
        return self.file_names | {n for c in self.cases.values() for n in c.exists_if}

    def type_cases(self, type_name: str) -> frozenset[str] | None:
        """The cases a value of this type can be in: every case for the tracked type, the
        listed ones for a derived type (an swp_entry_t is never none or present), None for a
        type the rule does not track."""
        if type_name == self.value:
            return self.all_cases
        if type_name in self.types:
            return self.types[type_name]
        if type_name in self.derive_types.values():
            return self.all_cases
        return None

    @property
    def configs(self) -> dict[str, str]:
        """Case name -> its Kconfig symbol, for the cases that need one."""
        return {c.name: c.config for c in self.cases.values() if c.config}

    def groups(self, cases: frozenset[str]) -> tuple[str, ...]:
        """Report names of the groups these cases fall in, in the rule's case order."""
        seen: dict[str, None] = {}
        for case in self.cases.values():
            if case.name in cases:
                seen[case.group] = None
        return tuple(seen)


def rule_names(directory: Path = RULE_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml") if _load_toml(p).get("id") is not None)


def load_rule(name_or_path: str, directory: Path = RULE_DIR) -> ContractRule:
    """A rule by id (a file in queries/rules) or by path to a TOML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = directory / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(rule_names(directory))
        raise InputError(f"--rule {name_or_path}: no such rule (known: {known})")
    data = _merged(path)
    try:
        return _build(data, str(path))
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"{path}: invalid rule: {error}") from error


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"{path}: cannot read rule: {error}") from error


def _merged(path: Path) -> dict[str, Any]:
    data = _load_toml(path)
    merged: dict[str, Any] = {}
    for base in data.get("extends", []):
        for key, value in _merged(path.parent / base).items():
            if isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


def _build(data: dict[str, Any], source: str) -> ContractRule:
    cases = {
        name: Case(
            name=name,
            group=str(spec.get("group", name)),
            doc=str(spec.get("doc", "")),
            exists_if=tuple(spec.get("exists_if", ())),
            config=str(spec.get("config", "")),
        )
        for name, spec in data["cases"].items()
    }
    every = frozenset(cases)

    def case_set(values: Any, what: str) -> frozenset[str]:
        result = frozenset(values)
        unknown = result - every
        if unknown:
            raise ValueError(f"{what}: unknown cases {sorted(unknown)}")
        return result

    predicates = {}
    for name, spec in data.get("predicates", {}).items():
        true = case_set(spec["true"], f"predicate {name}")
        false = case_set(spec["false"], f"predicate {name}") if "false" in spec else every - true
        predicates[name] = Predicate(true, false, int(spec.get("argument", 0)))
    forbidden = {
        name: Forbidden(
            int(spec.get("argument", 0)),
            case_set(spec["cases"], f"forbidden {name}"),
            str(spec.get("why", "")),
        )
        for name, spec in data.get("forbidden", {}).items()
    }
    derive = {
        name: int(spec["argument"]) if isinstance(spec, dict) else int(spec)
        for name, spec in data.get("derive", {}).items()
    }
    derive_types = {
        name: str(spec["type"])
        for name, spec in data.get("derive", {}).items()
        if isinstance(spec, dict) and "type" in spec
    }
    types = {name: case_set(spec, f"types {name}") for name, spec in data.get("types", {}).items()}
    comparisons = tuple(_comparison(spec, case_set, every) for spec in data.get("comparisons", ()))
    results = {
        name: _result(name, spec, case_set, source)
        for name, spec in data.get("results", {}).items()
    }
    slots = {
        name: Slot(str(spec["slot"]), tuple(int(i) for i in spec["arguments"]))
        for name, spec in data.get("slots", {}).items()
    }
    return ContractRule(
        id=str(data["id"]),
        title=str(data.get("title", "")),
        value=str(data.get("value", "")),
        watch=tuple(data.get("watch", ())),
        new_cases=case_set(data.get("new_cases", ()), "new_cases"),
        cases=cases,
        predicates=predicates,
        derive=derive,
        forbidden=forbidden,
        readers={k: int(v) for k, v in data.get("readers", {}).items()},
        writers={k: int(v) for k, v in data.get("writers", {}).items()},
        preserve={k: int(v) for k, v in data.get("preserve", {}).items()},
        constructors={
            k: case_set(v, f"constructor {k}") for k, v in data.get("constructors", {}).items()
        },
        transparent={k: int(v) for k, v in data.get("transparent", {}).items()},
        source=source,
        severity=_severity(data.get("severity", "warning")),
        derive_types=derive_types,
        types=types,
        comparisons=comparisons,
        results=results,
        slots=slots,
    )


def _comparison(spec: Any, case_set: Any, every: frozenset[str]) -> Comparison:
    operator = str(spec["operator"])
    if operator not in ("==", "<", ">"):
        raise ValueError(f"comparison operator must be ==, < or >, not {operator!r}")
    function = str(spec["function"])
    true = case_set(spec["true"], f"comparison {function}")
    false = case_set(spec["false"], f"comparison {function}") if "false" in spec else every - true
    return Comparison(
        function, int(spec.get("argument", 0)), operator, str(spec["operand"]), true, false
    )


def _result(name: str, spec: Any, case_set: Any, source: str) -> ResultSummary:
    """`{ argument = 0, nonzero = [...], zero = [...] }`: the cases the argument is in when
    the function returns nonzero (non-NULL) or zero (NULL); an omitted side allows any case."""
    index = int(spec.get("argument", 0))
    parameters = tuple(f"arg{i}" for i in range(index + 1))
    returns = []
    for side, kind in (("zero", ZERO), ("nonzero", NONZERO)):
        cases = case_set(spec[side], f"results {name}") if side in spec else None
        returns.append((kind, ((parameters[index], cases),) if cases is not None else ()))
    return ResultSummary(name, source, parameters, tuple(returns), stated=True)


def _severity(value: object) -> str:
    if value not in ("error", "warning", "note"):
        raise ValueError(f"severity must be error, warning or note, not {value!r}")
    return str(value)
