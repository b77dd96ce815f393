"""Contract rules: the TOML files in queries/rules/ (format in queries/rules/FORMAT.md)."""

from __future__ import annotations

import re
import stat
import sys
import unicodedata
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
    return sorted(
        p.stem
        for p in directory.glob("*.toml")
        if load_toml(p).get("id") is not None and "returns" not in load_toml(p)
    )


def load_rule(name_or_path: str, directory: Path = RULE_DIR) -> ContractRule:
    """A rule by id (a file in queries/rules) or by path to a TOML file. Anything wrong with
    the file is an InputError naming the file, the key and what it should be."""
    path = Path(name_or_path)
    if not path.suffix:
        path = directory / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(rule_names(directory))
        raise InputError(f"--rule {name_or_path}: no such rule (known: {known})")
    data = _merged(path, ())
    validate(data, str(path))
    try:
        return _build(data, str(path))
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"{path}: invalid rule: {error}") from error


MAX_RULE_BYTES = 4 << 20
MAX_INDEX = 64  # an argument index past this is no C function's
MAX_LIST = 1000  # names or cases in one list: a contract is about a few APIs, not a tree's
MAX_TABLE = 1000  # entries of one table (predicates, forbidden uses, ...)
_MAX_EXTENDS_DEPTH = 8
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def load_toml(path: Path) -> dict[str, Any]:
    """A rule file's TOML: a regular file below MAX_RULE_BYTES, UTF-8, and parseable."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path}: cannot read rule: not a regular file")
        if info.st_size > MAX_RULE_BYTES:
            raise InputError(f"{path}: cannot read rule: larger than {MAX_RULE_BYTES} bytes")
        with path.open("rb") as handle:
            raw = handle.read(MAX_RULE_BYTES + 1)
    except OSError as error:
        raise InputError(f"{path}: cannot read rule: {error.strerror or error}") from None
    if len(raw) > MAX_RULE_BYTES:
        raise InputError(f"{path}: cannot read rule: larger than {MAX_RULE_BYTES} bytes")
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: cannot read rule: not UTF-8 (byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: cannot read rule: {error}") from None
    except RecursionError:
        raise InputError(f"{path}: cannot read rule: nested too deep") from None
    return data


def _check_base(path: Path, base: str) -> None:
    """A file named by extends is a regular file: the error names the rule that names it."""
    try:
        mode = (path.parent / base).stat().st_mode
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InputError(f"{path}: extends: {base!r}: {reason.lower()}") from None
    if not stat.S_ISREG(mode):
        raise InputError(f"{path}: extends: {base!r}: not a regular file")


def _merged(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """The rule with the files it `extends` merged in first (this file wins)."""
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(p.name for p in (*seen, resolved))
        raise InputError(f"{path}: extends: a cycle ({chain})")
    if len(seen) >= _MAX_EXTENDS_DEPTH:
        raise InputError(f"{path}: extends: more than {_MAX_EXTENDS_DEPTH} files deep")
    data = load_toml(path)
    bases = data.get("extends", [])
    if not isinstance(bases, list) or not all(isinstance(b, str) and b for b in bases):
        raise InputError(f"{path}: extends: expected an array of file names (strings)")
    merged: dict[str, Any] = {}
    for base in bases:
        if "\0" in base:
            raise InputError(f"{path}: extends: expected a file name, not {base!r}")
        _check_base(path, base)
        for key, value in _merged(path.parent / base, (*seen, resolved)).items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key].update(value)
            elif isinstance(value, dict):
                merged[key] = dict(value)
            else:
                merged[key] = value
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


# The schema of a case rule: each top-level key, and what its value must be.
_INDEX = "index"
_NAMES = "names"
_STRING = "string"
_STRINGS = "strings"
_TOP: dict[str, str] = {
    "id": _STRING, "title": _STRING, "value": _STRING, "severity": _STRING,
    "watch": _NAMES, "new_cases": _STRINGS, "extends": _STRINGS,
    "cases": "cases", "predicates": "predicates", "derive": "derive", "forbidden": "forbidden",
    "readers": "indexes", "writers": "indexes", "preserve": "indexes", "transparent": "indexes",
    "constructors": "case-lists", "types": "case-lists", "comparisons": "comparisons",
    "results": "results", "slots": "slots",
}  # fmt: skip
_TABLES: dict[str, dict[str, str]] = {
    "cases": {"group": _STRING, "doc": _STRING, "exists_if": _NAMES, "config": _STRING},
    "predicates": {"true": _STRINGS, "false": _STRINGS, "argument": _INDEX},
    "derive": {"argument": _INDEX, "type": _STRING},
    "forbidden": {"argument": _INDEX, "cases": _STRINGS, "why": _STRING},
    "comparisons": {"function": _STRING, "argument": _INDEX, "operator": _STRING,
                    "operand": _STRING, "true": _STRINGS, "false": _STRINGS},
    "results": {"argument": _INDEX, "zero": _STRINGS, "nonzero": _STRINGS},
    "slots": {"slot": _STRING, "arguments": "index-list"},
}  # fmt: skip
_REQUIRED: dict[str, tuple[str, ...]] = {
    "predicates": ("true",),
    "forbidden": ("cases",),
    "comparisons": ("function", "operator", "operand", "true"),
    "slots": ("slot", "arguments"),
}


def validate(data: dict[str, Any], source: str) -> None:
    """Check a merged case rule against the schema (queries/rules/FORMAT.md) before use: every
    key known, every value of its type, names C identifiers, indexes 0..64. The InputError
    names the file, the key and what it must be."""
    if "returns" in data:
        raise InputError(
            f"{source}: returns: a return-contract rule file, read by audit --rule with --tree"
        )
    for key, value in data.items():
        kind = _TOP.get(key)
        if kind is None:
            known = ", ".join(sorted(_TOP))
            raise InputError(f"{source}: {_key(key)}: unknown key (known: {known})")
        _check(value, kind, f"{source}: {key}")
    for key in ("id", "cases"):
        if key not in data:
            raise InputError(f"{source}: {key}: missing (every rule has an id and cases)")
    if not data["id"]:
        raise InputError(f"{source}: id: expected a non-empty string")


def _check(value: Any, kind: str, where: str) -> None:
    if kind == _STRING:
        if not isinstance(value, str) or "\0" in value:
            raise InputError(f"{where}: expected a string{_shown(value)}")
    elif kind in (_STRINGS, _NAMES):
        what = "names" if kind == _NAMES else "strings"
        if not isinstance(value, list):
            raise InputError(f"{where}: expected an array of {what}{_shown(value)}")
        if len(value) > MAX_LIST:
            raise InputError(f"{where}: expected at most {MAX_LIST} {what}, not {len(value)}")
        for number, item in enumerate(value):
            _check(item, "name" if kind == _NAMES else _STRING, f"{where}[{number}]")
    elif kind == "name":
        if not isinstance(value, str) or not _NAME.fullmatch(value):
            raise InputError(f"{where}: expected a C identifier{_shown(value)}")
    elif kind == _INDEX:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INDEX:
            raise InputError(
                f"{where}: expected an argument index (an integer 0..{MAX_INDEX}){_shown(value)}"
            )
    elif kind == "index-list":
        if not isinstance(value, list):
            raise InputError(f"{where}: expected an array of argument indexes{_shown(value)}")
        for number, item in enumerate(value):
            _check(item, _INDEX, f"{where}[{number}]")
    elif kind == "indexes":
        _table_of(value, where, lambda item, at: _check(item, _INDEX, at))
    elif kind == "case-lists":
        _table_of(value, where, lambda item, at: _check(item, _STRINGS, at))
    elif kind == "derive":

        def derivation(item: Any, at: str) -> None:
            if isinstance(item, dict):
                _fields(item, "derive", at)
                if "argument" not in item:
                    raise InputError(f"{at}: argument: missing")
            else:
                _check(item, _INDEX, at)

        _table_of(value, where, derivation)
    elif kind == "comparisons":
        if not isinstance(value, list):
            raise InputError(f"{where}: expected an array of tables ([[comparisons]])")
        if len(value) > MAX_TABLE:
            raise InputError(f"{where}: expected at most {MAX_TABLE} entries, not {len(value)}")
        for number, item in enumerate(value):
            if not isinstance(item, dict):
                raise InputError(f"{where}[{number}]: expected a table{_shown(item)}")
            _fields(item, kind, f"{where}[{number}]")
            _check(item["function"], "name", f"{where}[{number}].function")
    else:  # a table of tables keyed by name
        _table_of(value, where, lambda item, at: _fields(item, kind, at))


def _table_of(value: Any, where: str, check: Any) -> None:
    """A table keyed by names (functions, cases, types), each value checked by `check`."""
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a table{_shown(value)}")
    if len(value) > MAX_TABLE:
        raise InputError(f"{where}: expected at most {MAX_TABLE} entries, not {len(value)}")
    for name, item in value.items():
        if not _NAME.fullmatch(name):
            raise InputError(f"{where}: key {name!r}: expected a C identifier")
        check(item, f"{where}.{name}")


def _fields(item: Any, kind: str, where: str) -> None:
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected a table{_shown(item)}")
    fields = _TABLES[kind]
    for key, value in item.items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise InputError(f"{where}.{_key(key)}: unknown key (known: {known})")
        _check(value, fields[key], f"{where}.{key}")
    for key in _REQUIRED.get(kind, ()):
        if key not in item:
            raise InputError(f"{where}.{key}: missing")


def _key(key: str) -> str:
    """A key as TOML would spell it: bare when it can be, else quoted with escapes (one line)."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_string(text: str) -> str:
    """A TOML basic string: quote, backslash, control and format characters escaped.

    A lone surrogate (from an undecodable byte) is no Unicode scalar value, so TOML cannot
    carry it even escaped: it becomes U+FFFD.
    """
    return '"' + "".join(_ESCAPES.get(c) or _escaped(c) for c in text) + '"'


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if code < 0x20 or code == 0x7F or unicodedata.category(char) in ("Cf", "Zl", "Zp"):
        # Control characters must be escaped; bidi and other format characters are, so the
        # file reads as it parses.
        return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"
    return char


def _shown(value: Any) -> str:
    text = repr(value)
    return f", not {text if len(text) <= 40 else text[:37] + '...'}"


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
