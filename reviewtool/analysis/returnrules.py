"""Return contracts as rule files: what `reviewtool rule infer` writes and `--rule FILE` reads
back (queries/rules/FORMAT.md, "Return contracts").

```toml
id = "returns-__filemap_get_folio"
title = "__filemap_get_folio() returns ERR_PTR(), no longer NULL"

[[returns]]
function = "__filemap_get_folio"
path = "mm/filemap.c"
patch = 1
type_before = "struct folio *"
type = "struct folio *"
before = ["NULL", "unknown"]
after = ["ERR_PTR(-EAGAIN)", "ERR_PTR(-ENOENT)", "ERR_PTR(-ENOMEM)", "unknown"]
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reviewtool.analysis.callers import Contract
from reviewtool.analysis.contracts import ANY_ERRNO, ReturnKind, ReturnType, describe
from reviewtool.analysis.rules import load_toml, toml_string
from reviewtool.errors import InputError

_ERRPTR = re.compile(r"ERR_PTR\((-E[A-Z0-9]+|-E\*)\)")
_ERRNO = re.compile(r"-E[A-Z0-9]+|-E\*")
_NUMBER = re.compile(r"-?(0[xX][0-9a-fA-F]+|\d+)")
_ENUM = re.compile(r"[A-Z][A-Z0-9_]*")
_NAME = re.compile(r"[A-Za-z_]\w*")


def kind_text(kind: ReturnKind) -> str:
    """A kind as a rule file spells it."""
    if kind.kind == "null":
        return "NULL"
    if kind.kind in ("pointer", "unknown"):
        return kind.kind
    if kind.kind == "errptr":
        return f"ERR_PTR({kind.value})"
    return kind.value


def parse_kind(text: str, rtype: ReturnType) -> ReturnKind:
    """A kind from its rule-file spelling (`NULL`, `pointer`, `ERR_PTR(-ENOMEM)`, `-EIO`, `0`,
    `true`, an enum constant, `unknown`); ValueError when it is none of them."""
    text = text.strip()
    if text == "NULL":
        return ReturnKind("null")
    if text in ("pointer", "unknown"):
        return ReturnKind(text)
    if (match := _ERRPTR.fullmatch(text)) is not None:
        return ReturnKind("errptr", match.group(1))
    if text in ("true", "false"):
        return ReturnKind("bool", text)
    if _ERRNO.fullmatch(text) or _NUMBER.fullmatch(text):
        value = ANY_ERRNO if text == "-E*" else text
        if rtype.kind == "bool" and _NUMBER.fullmatch(text):
            return ReturnKind("bool", "false" if int(text, 0) == 0 else "true")
        return ReturnKind("int", value)
    if _ENUM.fullmatch(text):
        return ReturnKind("enum", text)
    raise ValueError(f"not a kind of return value: {text!r}")


def parse_type(text: str) -> ReturnType:
    """A declared return type from its text (`struct folio *`, `bool`, `int`, `enum x`)."""
    text = " ".join(text.split())
    if "*" in text:
        return ReturnType("pointer", text)
    if text in ("bool", "_Bool"):
        return ReturnType("bool", text)
    if text == "void":
        return ReturnType("void", text)
    if text.startswith("enum "):
        return ReturnType("enum", text)
    return ReturnType("int", text)


def _kinds(kinds: frozenset[ReturnKind]) -> str:
    return "[" + ", ".join(toml_string(kind_text(k)) for k in sorted(kinds)) + "]"


def to_toml(contracts: list[Contract], change: str = "") -> str:
    """The contracts as one rule file, each with a comment saying what changed."""
    first = contracts[0]
    lines = [
        "# Return contracts inferred by `reviewtool rule infer`: edit the kinds, then audit the",
        "# callers with `reviewtool audit SERIES --tree T --rule THIS_FILE`.",
        "# Kinds: NULL, pointer (a valid pointer), ERR_PTR(-E...), ERR_PTR(-E*) (any errno),",
        "# integer constants and errnos (0, 1, -ENOMEM, -E*), true, false, enum constants,",
        "# unknown (the body returns something the summary cannot read).",
        f"id = {toml_string('returns-' + first.function)}",
        f"title = {toml_string(change or describe(first.after))}",
    ]
    for contract in contracts:
        lines += [
            "",
            "[[returns]]",
            f"function = {toml_string(contract.function)}",
            f"path = {toml_string(contract.path)}",
            f"patch = {contract.patch}",
            f"type_before = {toml_string(contract.type_before.text)}",
            f"type = {toml_string(contract.type_after.text)}",
            f"before = {_kinds(contract.before)}",
            f"after = {_kinds(contract.after)}",
        ]
    return "\n".join(lines) + "\n"


def is_return_rule(name_or_path: str) -> bool:
    """Whether --rule names a file of return contracts (a TOML file with `[[returns]]`)."""
    path = Path(name_or_path)
    if path.suffix != ".toml" or not path.is_file():
        return False
    return "returns" in load_toml(path)


def load_return_rule(name_or_path: str) -> tuple[str, list[Contract]]:
    """The rule's id and its contracts; InputError naming the file and the key otherwise."""
    path = Path(name_or_path)
    data = load_toml(path)
    rule_id = data.get("id", path.stem)
    if not isinstance(rule_id, str):
        raise InputError(f"{path}: id: expected a string")
    entries = data.get("returns")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: returns: expected an array of tables ([[returns]])")
    contracts = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: returns #{number}"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected a table")
        contracts.append(_contract(entry, where))
    return rule_id, contracts


def _text(entry: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: {key}: expected a non-empty string")
    return value


def _contract(entry: dict[str, Any], where: str) -> Contract:
    function = _text(entry, "function", where)
    if not _NAME.fullmatch(function):
        raise InputError(f"{where}: function: expected a C identifier, not {function!r}")
    path = _text(entry, "path", where, "")
    patch = entry.get("patch", 0)
    if not isinstance(patch, int) or isinstance(patch, bool) or patch < 0:
        raise InputError(f"{where}: patch: expected a patch number (0 or more)")
    type_after = parse_type(_text(entry, "type", where))
    type_before = parse_type(_text(entry, "type_before", where, type_after.text))
    kinds: dict[str, frozenset[ReturnKind]] = {}
    for key, rtype in (("before", type_before), ("after", type_after)):
        values = entry.get(key)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InputError(f"{where}: {key}: expected an array of strings")
        try:
            kinds[key] = frozenset(parse_kind(v, rtype) for v in values)
        except ValueError as error:
            raise InputError(f"{where}: {key}: {error}") from None
    return Contract(
        function,
        path,
        patch,
        kinds["before"],
        kinds["after"],
        type_before,
        type_after,
        origin=function,
        origin_path=path,
    )
