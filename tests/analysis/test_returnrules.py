"""Return-contract rule files: written by `rule infer`, read back by `--rule FILE`, and every
way such a file can be wrong named by file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewtool.analysis.callers import Contract
from reviewtool.analysis.contracts import NULL, POINTER, UNKNOWN, ReturnKind, ReturnType
from reviewtool.analysis.returnrules import (
    is_return_rule,
    kind_text,
    load_return_rule,
    parse_kind,
    parse_type,
    to_toml,
)
from reviewtool.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
FOLIO = ReturnType("pointer", "struct folio *")
INT = ReturnType("int", "int")
BOOL = ReturnType("bool", "bool")
RESULT = ReturnType("enum", "enum scan_result")

CONTRACTS = [
    Contract(
        "__filemap_get_folio",
        "mm/filemap.c",
        1,
        frozenset({NULL, UNKNOWN}),
        frozenset({ReturnKind("errptr", "-ENOENT"), ReturnKind("errptr", "-E*"), UNKNOWN}),
        FOLIO,
        FOLIO,
    ),
    Contract(
        "isolate_lru_page",
        "mm/vmscan.c",
        2,
        frozenset({ReturnKind("int", "0"), ReturnKind("int", "-EBUSY")}),
        frozenset({ReturnKind("bool", "true"), ReturnKind("bool", "false")}),
        INT,
        BOOL,
    ),
    Contract(
        "scan_one",
        "mm/khugepaged.c",
        0,
        frozenset({ReturnKind("enum", "SCAN_FAIL"), ReturnKind("enum", "SCAN_SUCCEED")}),
        frozenset({ReturnKind("enum", "SCAN_FAIL"), ReturnKind("enum", "SCAN_PTE_UFFD_WP")}),
        RESULT,
        RESULT,
    ),
]

VALID = """
id = "returns-f"

[[returns]]
function = "f"
path = "mm/f.c"
patch = 1
type = "struct page *"
before = ["NULL", "unknown"]
after = ["ERR_PTR(-ENOENT)", "unknown"]
"""


def write(tmp_path: Path, text: str | bytes, name: str = "contract.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def fields(contract: Contract) -> tuple[object, ...]:
    return (
        contract.function,
        contract.path,
        contract.patch,
        contract.before,
        contract.after,
        contract.type_before,
        contract.type_after,
    )


def test_what_to_toml_writes_loads_back_the_same(tmp_path: Path) -> None:
    path = write(tmp_path, to_toml(CONTRACTS, "three changes"))
    rule_id, loaded = load_return_rule(str(path))
    assert rule_id == "returns-__filemap_get_folio"
    assert [fields(c) for c in loaded] == [fields(c) for c in CONTRACTS]
    assert [(c.type_before.kind, c.type_after.kind) for c in loaded] == [
        ("pointer", "pointer"),
        ("int", "bool"),
        ("enum", "enum"),
    ]
    # a contract read from a file is its own origin
    assert [(c.origin, c.origin_path) for c in loaded] == [(c.function, c.path) for c in CONTRACTS]
    assert loaded[1].flipped


def test_to_toml_titles_the_rule_with_the_change(tmp_path: Path) -> None:
    text = to_toml(CONTRACTS[:1], 'returns "ERR_PTR", \\ no longer NULL')
    assert 'title = "returns \\"ERR_PTR\\", \\\\ no longer NULL"' in text
    # the quoting is TOML's: the file still loads
    load_return_rule(str(write(tmp_path, text)))


def test_is_return_rule(tmp_path: Path) -> None:
    path = write(tmp_path, to_toml(CONTRACTS))
    assert is_return_rule(str(path))
    assert not is_return_rule(str(ROOT / "queries" / "rules" / "pte-marker.toml"))
    assert not is_return_rule(str(tmp_path / "missing.toml"))
    assert not is_return_rule(str(write(tmp_path, to_toml(CONTRACTS), "contract.txt")))


def test_a_rule_without_id_is_named_by_its_file(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('id = "returns-f"', ""), "f-errptr.toml")
    rule_id, (loaded,) = load_return_rule(str(path))
    assert rule_id == "f-errptr"
    # type_before defaults to type
    assert loaded.type_before == loaded.type_after == ReturnType("pointer", "struct page *")


@pytest.mark.parametrize(
    ("text", "rtype", "expected"),
    [
        ("NULL", FOLIO, NULL),
        ("pointer", FOLIO, POINTER),
        ("unknown", FOLIO, UNKNOWN),
        ("ERR_PTR(-ENOMEM)", FOLIO, ReturnKind("errptr", "-ENOMEM")),
        ("ERR_PTR(-E*)", FOLIO, ReturnKind("errptr", "-E*")),
        ("-EIO", INT, ReturnKind("int", "-EIO")),
        ("-E*", INT, ReturnKind("int", "-E*")),
        ("0", INT, ReturnKind("int", "0")),
        ("0x10", INT, ReturnKind("int", "0x10")),
        ("true", BOOL, ReturnKind("bool", "true")),
        ("false", BOOL, ReturnKind("bool", "false")),
        ("VM_FAULT_OOM", RESULT, ReturnKind("enum", "VM_FAULT_OOM")),
        ("1", BOOL, ReturnKind("bool", "true")),
        ("0", BOOL, ReturnKind("bool", "false")),
        ("  -ENOMEM ", INT, ReturnKind("int", "-ENOMEM")),
    ],
)
def test_parse_kind(text: str, rtype: ReturnType, expected: ReturnKind) -> None:
    assert parse_kind(text, rtype) == expected


@pytest.mark.parametrize(
    "text", ["foo bar", "null", "", "ERR_PTR(ENOMEM)", "ERR_PTR(-ENOMEM", "-E", "E*", "Null"]
)
def test_parse_kind_refuses_what_is_no_kind(text: str) -> None:
    with pytest.raises(ValueError, match="not a kind of return value"):
        parse_kind(text, INT)


@pytest.mark.parametrize(
    "kind",
    [
        NULL,
        POINTER,
        UNKNOWN,
        ReturnKind("errptr", "-ENOMEM"),
        ReturnKind("errptr", "-E*"),
        ReturnKind("int", "-EIO"),
        ReturnKind("int", "-E*"),
        ReturnKind("int", "0"),
        ReturnKind("bool", "true"),
        ReturnKind("enum", "VM_FAULT_OOM"),
    ],
    ids=str,
)
def test_kind_text_is_what_parse_kind_reads(kind: ReturnKind) -> None:
    rtype = BOOL if kind.kind == "bool" else FOLIO if kind.kind != "int" else INT
    assert parse_kind(kind_text(kind), rtype) == kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("struct folio *", ReturnType("pointer", "struct folio *")),
        ("struct  folio\t*", ReturnType("pointer", "struct folio *")),
        ("bool", ReturnType("bool", "bool")),
        ("_Bool", ReturnType("bool", "_Bool")),
        ("void", ReturnType("void", "void")),
        ("enum scan_result", ReturnType("enum", "enum scan_result")),
        ("unsigned long", ReturnType("int", "unsigned long")),
        ("vm_fault_t", ReturnType("int", "vm_fault_t")),
    ],
)
def test_parse_type(text: str, expected: ReturnType) -> None:
    assert parse_type(text) == expected


def assert_refused(path: Path, message: str) -> None:
    """Loading the file is an InputError whose message names the file, then `message`."""
    with pytest.raises(InputError, match=re.escape(f"{path}: {message}")) as caught:
        load_return_rule(str(path))
    assert caught.value.exit_code == 2


def test_a_rule_that_is_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.encode().replace(b"mm/f.c", b"mm/\xff.c"))
    assert_refused(path, "cannot read rule: not UTF-8")


def test_a_rule_that_is_not_toml(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("patch = 1", "patch = = 1"))
    assert_refused(path, "cannot read rule: ")


def test_a_rule_larger_than_the_limit(tmp_path: Path) -> None:
    # a valid rule padded with a comment: only its size is wrong
    path = write(tmp_path, VALID + "#" + "x" * (4 << 20) + "\n")
    assert_refused(path, f"cannot read rule: larger than {4 << 20} bytes")


def test_a_rule_that_cannot_be_read(tmp_path: Path) -> None:
    assert_refused(tmp_path / "missing.toml", "cannot read rule: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('id = "x"\n', "returns: expected an array of tables ([[returns]])"),
        ('id = "x"\nreturns = []\n', "returns: expected an array of tables ([[returns]])"),
        ('[returns]\nfunction = "f"\n', "returns: expected an array of tables ([[returns]])"),
        ('returns = ["f"]\n', "returns #1: expected a table"),
        ("id = 3\n" + VALID.replace('id = "returns-f"', ""), "id: expected a string"),
    ],
    ids=["missing", "empty", "a-table", "not-a-table", "id"],
)
def test_a_rule_of_the_wrong_shape(tmp_path: Path, text: str, message: str) -> None:
    assert_refused(write(tmp_path, text), message)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('function = "f"', 'function = "f()"', "returns #1: function: expected a C identifier"),
        ('function = "f"', 'function = "2f"', "returns #1: function: expected a C identifier"),
        ('function = "f"', "", "returns #1: function: expected a non-empty string"),
        ("patch = 1", "patch = -1", "returns #1: patch: expected a patch number (0 or more)"),
        ("patch = 1", "patch = true", "returns #1: patch: expected a patch number (0 or more)"),
        ("patch = 1", 'patch = "1"', "returns #1: patch: expected a patch number (0 or more)"),
        ('type = "struct page *"', "", "returns #1: type: expected a non-empty string"),
        ('path = "mm/f.c"', "path = 1", "returns #1: path: expected a non-empty string"),
        (
            'before = ["NULL", "unknown"]',
            'before = "NULL"',
            "returns #1: before: expected an array of strings",
        ),
        (
            'before = ["NULL", "unknown"]',
            "before = [1]",
            "returns #1: before: expected an array of strings",
        ),
        (
            'after = ["ERR_PTR(-ENOENT)", "unknown"]',
            'after = ["ERR_PTR(-ENOENT)", "foo bar"]',
            "returns #1: after: not a kind of return value: 'foo bar'",
        ),
        (
            'after = ["ERR_PTR(-ENOENT)", "unknown"]',
            "",
            "returns #1: after: expected an array of strings",
        ),
    ],
)
def test_a_bad_key_is_named(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in VALID
    assert_refused(write(tmp_path, VALID.replace(old, new)), message)


def test_the_entry_is_numbered(tmp_path: Path) -> None:
    second = VALID.split("\n\n", 1)[1].replace('"NULL", ', '"NUL L", ')
    path = write(tmp_path, VALID + "\n" + second)
    assert_refused(path, "returns #2: before: not a kind of return value: 'NUL L'")
