"""Property tests of rule-file loading: the shipped rule queries/rules/pte-marker.toml (and the
kernel-common.toml it extends) mutated key by key, byte by byte and through `extends`, and
return-contract files written by `to_toml` and then mutated. Every result is a rule or an
InputError of one line that starts with the file it is about and names the key."""

from __future__ import annotations

import copy
import datetime
import math
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewtool.analysis.callers import Contract
from reviewtool.analysis.contracts import ReturnKind, ReturnType
from reviewtool.analysis.returnrules import load_return_rule, parse_kind, parse_type, to_toml
from reviewtool.analysis.rules import RULE_DIR, ContractRule, load_rule
from reviewtool.errors import InputError
from tests.fuzz.strategies import Draw, chars, hostile_text, pick

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BASE = tomllib.loads((RULE_DIR / "pte-marker.toml").read_text(encoding="utf-8"))

# -- a TOML writer for any value tomllib can return -------------------------------------------


def toml_string(text: str) -> str:
    escaped = "".join(
        f"\\{c}" if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x20 or c == "\x7f" else c
        for c in text
    )
    return f'"{escaped}"'


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(value)


def toml_document(data: dict[str, Any]) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in data.items())


def test_the_writer_round_trips_the_shipped_rule() -> None:
    assert tomllib.loads(toml_document(BASE)) == BASE


# -- mutations ----------------------------------------------------------------------------------

Key = tuple[str | int, ...]


def _keys(value: object, prefix: Key = ()) -> Iterator[Key]:
    if isinstance(value, dict):
        items: Iterator[tuple[str | int, object]] = iter(value.items())
    elif isinstance(value, list):
        items = iter(enumerate(value))
    else:
        return
    for key, item in items:
        yield (*prefix, key)
        yield from _keys(item, (*prefix, key))


KEYS = list(_keys(BASE))
_OFFSETS = st.builds(datetime.timedelta, minutes=st.integers(-23 * 60, 23 * 60)).map(
    datetime.timezone
)
scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([-1, 0, 64, 65, 2**31, 10**30, -(10**30)]),
    st.floats(),
    st.booleans(),
    hostile_text(20),
    st.sampled_from(["", "none", "marker", "swap", "a b", "x\0y", "ünï", "-1"]),
    st.datetimes(timezones=st.one_of(st.none(), _OFFSETS)),
    st.dates(),
    st.times(),
)
_KEY_TEXT = hostile_text(12)
toml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_KEY_TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)
key_names = st.one_of(
    _KEY_TEXT,
    st.sampled_from(["", " ", "a b", "x\0", "ä", "\t", "a\nb", "\u202e", "id", "returns", "1x"]),
)


def _parent(data: dict[str, Any], key: Key) -> Any:
    parent: Any = data
    for part in key[:-1]:
        parent = parent[part]
    return parent


@st.composite
def mutations(draw: st.DrawFn, rule_dir: str) -> tuple[dict[str, Any], Key]:
    """The shipped rule with one edit, and the key it edited."""
    data = copy.deepcopy(BASE)
    key = pick(draw, KEYS)
    parent, last = _parent(data, key), key[-1]
    kind = pick(draw, ["drop", "replace", "replace", "rename", "index", "extends"])
    if kind == "drop":
        del parent[last]
    elif kind == "replace":
        parent[last] = draw(toml_values)
    elif kind == "rename" and isinstance(last, str):
        name = draw(key_names)
        parent[name] = parent.pop(last)
        key = (*key[:-1], name)
    elif kind == "index":
        parent[last] = draw(st.sampled_from([-1, -(2**63), 65, 2**63 - 1, 10**30, 1.5, True]))
    else:
        data["extends"] = draw(extends_values(rule_dir))
        key = ("extends",)
    return data, key


@st.composite
def extends_values(draw: st.DrawFn, rule_dir: str) -> object:
    """What `extends` may say: itself, a cycle, a chain too deep, a directory, a device, a
    FIFO, nothing, a name too long, something that is not a file name at all."""
    names = [
        "rule.toml", "cycle-a.toml", "chain-0.toml", "subdir", "fifo", "/dev/zero", "/dev/null",
        "missing.toml", "kernel-common.toml", "", "a\0b", "x" * 5000, "../" * 30 + "etc/passwd",
        f"{rule_dir}/kernel-common.toml", "nul.toml", "ünï.toml",
    ]  # fmt: skip
    chosen = draw(st.lists(st.sampled_from(names), max_size=3))
    return draw(st.sampled_from([chosen, chosen, chosen, 5, "kernel-common.toml", [["x"]], {}]))


def _bytes_mutated(draw: Draw, text: bytes) -> bytes:
    kind = pick(draw, ["none", "none", "cut", "byte", "bom", "crlf", "deep"])
    at = draw(st.integers(0, len(text)))
    if kind == "cut":
        return text[:at]
    if kind == "byte":
        return text[:at] + pick(draw, [b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80"]) + text[at:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + text
    if kind == "crlf":
        return text.replace(b"\n", b"\r\n")
    if kind == "deep":
        depth = pick(draw, [10, 300, 1000, 100_000])
        return text + b"deep = " + b"[" * depth + b"]" * depth + b"\n"
    return text


# -- the directory the mutated rule lives in -----------------------------------------------------


@pytest.fixture(scope="module")
def rule_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kernel-common.toml beside the rule, and what a hostile `extends` can point to: a cycle
    of two files, a chain of ten, a directory, a FIFO, a file with a NUL byte."""
    directory = tmp_path_factory.mktemp("rules")
    shutil.copy(RULE_DIR / "kernel-common.toml", directory / "kernel-common.toml")
    (directory / "cycle-a.toml").write_text('extends = ["cycle-b.toml"]\n')
    (directory / "cycle-b.toml").write_text('extends = ["cycle-a.toml"]\n')
    for number in range(10):
        (directory / f"chain-{number}.toml").write_text(f'extends = ["chain-{number + 1}.toml"]\n')
    (directory / "chain-10.toml").write_text("")
    (directory / "subdir").mkdir()
    (directory / "nul.toml").write_bytes(b'id = "x\x00"\n')
    os.mkfifo(directory / "fifo")
    return directory


def _check_rule_error(error: InputError, directory: Path, key: Key | None) -> None:
    """One line, about the rule file or a file it extends; when about the rule file itself,
    naming the key edited (or the case or name that key named)."""
    message = error.message
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith((str(directory), "/dev/")), message
    if key is not None and message.startswith(f"{directory / 'rule.toml'}: "):
        named = [part for part in key if isinstance(part, str)]
        assert any(part in message or repr(part) in message for part in named), (key, message)


def _load(path: Path) -> ContractRule | None:
    try:
        return load_rule(str(path))
    except InputError:
        raise
    except Exception as error:  # pragma: no cover - the property under test
        pytest.fail(f"load_rule raised {type(error).__name__}: {error}")


@given(st.data())
def test_one_edit_to_the_shipped_rule(rule_dir: Path, data: st.DataObject) -> None:
    mutated, key = data.draw(mutations(str(rule_dir)))
    path = rule_dir / "rule.toml"
    path.write_text(toml_document(mutated), encoding="utf-8")
    try:
        rule = _load(path)
    except InputError as error:
        _check_rule_error(error, rule_dir, key)
        return
    assert isinstance(rule, ContractRule)


@given(st.data())
def test_several_edits_and_broken_bytes(rule_dir: Path, data: st.DataObject) -> None:
    mutated = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(1, 4))):
        edited, key = data.draw(mutations(str(rule_dir)))
        # apply the edit of that key onto the accumulated document
        if key and key[0] in edited:
            mutated[key[0]] = edited[key[0]]
        elif key and key[0] in mutated:
            del mutated[key[0]]
    raw = _bytes_mutated(data.draw, toml_document(mutated).encode("utf-8"))
    path = rule_dir / "rule.toml"
    path.write_bytes(raw)
    try:
        rule = _load(path)
    except InputError as error:
        _check_rule_error(error, rule_dir, None)
        return
    assert isinstance(rule, ContractRule)


@given(st.binary(max_size=500), st.data())
def test_any_bytes_as_a_rule_file(rule_dir: Path, raw: bytes, data: st.DataObject) -> None:
    path = rule_dir / "rule.toml"
    path.write_bytes(raw)
    try:
        _load(path)
    except InputError as error:
        _check_rule_error(error, rule_dir, None)


# -- return-contract rule files ------------------------------------------------------------------

KIND_TEXTS = ("NULL", "pointer", "unknown", "ERR_PTR(-ENOMEM)", "ERR_PTR(-E*)", "-EIO", "-E*",
              "0", "1", "0x10", "true", "false", "SCAN_FAIL")  # fmt: skip
TYPE_TEXTS = ("struct folio *", "int", "bool", "_Bool", "void", "enum scan_result", "long",
              "unsigned  int", "char **")  # fmt: skip
_IDENT = st.builds(str.__add__, chars("abcdefghij_", 1, min_size=1), chars("abcxyz_019", 10))


@st.composite
def contracts(draw: st.DrawFn, *, path: st.SearchStrategy[str]) -> Contract:
    """A contract as `rule infer` finds one: kinds that the declared types can hold."""
    type_before = parse_type(pick(draw, TYPE_TEXTS))
    type_after = parse_type(pick(draw, TYPE_TEXTS))

    def kinds(rtype: ReturnType) -> frozenset[ReturnKind]:
        texts = draw(st.lists(st.sampled_from(KIND_TEXTS), max_size=4))
        return frozenset(parse_kind(text, rtype) for text in texts)

    where = draw(path)
    return Contract(
        draw(_IDENT),
        where,
        draw(st.integers(0, 2**63)),
        kinds(type_before),
        kinds(type_after),
        type_before,
        type_after,
        origin="",
        origin_path=where,
    )


_PATHS = st.one_of(
    chars("abcz/._- \"\\'äß{}[]=#\U0001f600", 30, min_size=1), hostile_text(30, min_size=1)
)


@given(st.lists(contracts(path=_PATHS), min_size=1, max_size=3), hostile_text(30))
def test_written_return_rules_are_read_back(
    rule_dir: Path, written: list[Contract], change: str
) -> None:
    path = rule_dir / "returns.toml"
    path.write_text(to_toml(written, change), "utf-8")
    try:
        rule_id, read = load_return_rule(str(path))
    except InputError as error:
        pytest.fail(f"to_toml wrote a file load_return_rule refuses: {error.message}")
    assert rule_id == "returns-" + written[0].function
    assert [(c.function, c.path, c.patch) for c in read] == [
        (c.function, c.path, c.patch) for c in written
    ]
    assert [(c.before, c.after) for c in read] == [(c.before, c.after) for c in written]


def _edit_returns(draw: Draw, data: dict[str, Any]) -> dict[str, Any]:
    entries = data.get("returns")
    kind = pick(draw, ["id", "returns", "entry", "field", "drop", "rename"])
    if kind == "id":
        data["id"] = draw(toml_values)
    elif kind == "returns":
        data["returns"] = draw(toml_values)
    elif isinstance(entries, list) and entries and isinstance(entry := pick(draw, entries), dict):
        field = pick(draw, ["function", "path", "patch", "type_before", "type", "before", "after"])
        if kind == "entry":
            entries[entries.index(entry)] = draw(toml_values)
        elif kind == "field":
            entry[field] = draw(
                st.one_of(
                    toml_values,
                    st.lists(st.one_of(st.sampled_from(KIND_TEXTS), hostile_text(12))),
                    st.sampled_from([-1, 2**63, "", "1x", "a b", "ERR_PTR(-ENOMEM"]),
                )
            )
        elif kind == "drop":
            entry.pop(field, None)
        else:
            entry[draw(key_names)] = entry.pop(field, 0)
    return data


@given(st.lists(contracts(path=hostile_text(20)), min_size=1, max_size=3), st.data())
def test_mutated_return_rules(rule_dir: Path, written: list[Contract], data: st.DataObject) -> None:
    text = to_toml(written)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        document = None  # a path to_toml cannot write (see the round-trip test): bytes only
    if document is not None:
        for _ in range(data.draw(st.integers(0, 3))):
            document = _edit_returns(data.draw, document)
        text = toml_document(document)
    raw = _bytes_mutated(data.draw, text.encode("utf-8"))
    path = rule_dir / "returns.toml"
    path.write_bytes(raw)
    try:
        rule_id, read = load_return_rule(str(path))
    except InputError as error:
        assert error.message.startswith(f"{path}: "), error.message
        assert "\n" not in error.message and "\r" not in error.message, error.message
        return
    except Exception as error:  # pragma: no cover - the property under test
        pytest.fail(f"load_return_rule raised {type(error).__name__}: {error}")
    assert isinstance(rule_id, str) and read
    assert all(isinstance(c, Contract) for c in read)


@pytest.mark.parametrize("target", ["/dev/zero", "subdir", "missing.toml"])
def test_return_rules_that_are_not_files(rule_dir: Path, target: str) -> None:
    path = Path(target) if target.startswith("/") else rule_dir / target
    with pytest.raises(InputError) as raised:
        load_return_rule(str(path))
    assert raised.value.message.startswith(f"{path}: ")
