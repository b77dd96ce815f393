"""Contract rules: the TOML files in queries/rules/ (format in queries/rules/FORMAT.md)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewtool.errors import InputError
from reviewtool.queries import QUERY_DIR

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

    @property
    def all_cases(self) -> frozenset[str]:
        return frozenset(self.cases)

    @property
    def names(self) -> frozenset[str]:
        """Every function name the rule gives a meaning to (what makes a file worth parsing)."""
        return frozenset({*self.watch, *self.predicates, *self.derive, *self.forbidden})

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
    )


def _severity(value: object) -> str:
    if value not in ("error", "warning", "note"):
        raise ValueError(f"severity must be error, warning or note, not {value!r}")
    return str(value)
