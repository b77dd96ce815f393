"""Contracts inferred from a patch, and what every caller does with them, on the annotated
fixtures of fixtures/contracts/ (one directory per kind of change)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewtool.analysis.callers import CallerSite, Contract
from reviewtool.analysis.contracts import ReturnKind
from reviewtool.analysis.inference import (
    Parser,
    added_kinds,
    audit_callers,
    change_text,
    changed_contracts,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "contracts"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
_EXPECT = re.compile(r"/\* expect: ([a-z-]+) \*/")


def infer(case: str) -> tuple[list[Contract], list[CallerSite]]:
    directory = FIXTURES / case
    before = (directory / "callee.before.c").read_bytes()
    after = (directory / "callee.after.c").read_bytes()
    parser = Parser()
    contracts = changed_contracts(1, ["mm/callee.c"], lambda p: before, lambda p: after, parser)
    files = {
        f"mm/{p.name}": p.read_bytes()
        for p in sorted(directory.iterdir())
        if p.name in ("callers.c", "wrapper.h")
    }
    files["mm/callee.c"] = after

    def mentioning(names: set[str]) -> set[str]:
        return {path for path, text in files.items() if any(n.encode() in text for n in names)}

    audits = audit_callers(contracts, mentioning, files.get, parser)
    return contracts, [site for audit in audits for site in audit.sites]


def expectations(case: str) -> dict[tuple[str, int], str]:
    expected = {}
    for path in sorted((FIXTURES / case).iterdir()):
        if path.name not in ("callers.c", "wrapper.h"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = _EXPECT.search(line)
            if match:
                expected[(f"mm/{path.name}", number)] = match.group(1)
    return expected


def test_every_kind_of_change_has_a_fixture() -> None:
    assert CASES == [
        "derived-pointer",
        "inline-wrapper",
        "int-to-bool",
        "new-enum",
        "new-errno",
        "null-to-errptr",
    ]


@pytest.mark.parametrize("case", CASES)
def test_every_call_site_gets_the_verdict_its_annotation_gives(case: str) -> None:
    contracts, sites = infer(case)
    assert len(contracts) == 1, contracts
    expected = expectations(case)
    found = {(site.path, site.line): site.verdict for site in sites}
    assert found == expected
    for site in sites:
        if site.verdict == "unhandled":
            assert site.how and site.anchor is not None and site.evidence, site


def test_null_to_errptr_names_the_new_kind() -> None:
    (contract,), sites = infer("null-to-errptr")
    assert added_kinds(contract.before, contract.after) == {ReturnKind("errptr", "-ENOENT")}
    assert change_text(contract) == (
        "get_thing() can now return ERR_PTR(-ENOENT), was NULL, something unknown"
    )
    opened = next(s for s in sites if s.function == "open_thing")
    assert opened.reason == "test"
    assert opened.anchor is not None and opened.anchor.text == "!thing"
    assert "ERR_PTR(-ENOENT)" in opened.how


def test_int_to_bool_is_a_flipped_meaning() -> None:
    (contract,), sites = infer("int-to-bool")
    assert contract.flipped
    assert (
        change_text(contract) == "grab_page() now returns bool (false, true), was int (-EBUSY, 0)"
    )
    collected = next(s for s in sites if s.function == "collect")
    assert "true" in collected.how and "failure only" in collected.how


def test_wrappers_carry_the_contract_to_their_callers() -> None:
    _, sites = infer("inline-wrapper")
    assert {s.callee for s in sites if s.function == "use_wrapper"} == {"get_thing"}
    _, sites = infer("derived-pointer")
    read = next(s for s in sites if s.function == "read_page")
    assert read.callee == "get_page_of" and read.verdict == "unhandled"


def test_a_change_that_keeps_the_contract_infers_nothing() -> None:
    source = (FIXTURES / "null-to-errptr" / "callee.before.c").read_bytes()
    renamed = source.replace(b"struct thing *thing = lookup", b"struct thing *found = lookup")
    renamed = renamed.replace(b"(!thing)", b"(!found)").replace(
        b"thing_get(thing)", b"thing_get(found)"
    )
    renamed = renamed.replace(b"return thing;", b"return found;")
    parser = Parser()
    assert changed_contracts(1, ["mm/x.c"], lambda p: source, lambda p: renamed, parser) == []


def test_what_the_body_could_already_return_is_not_added() -> None:
    unknown, nomem, eagain = (
        ReturnKind("unknown"),
        ReturnKind("int", "-ENOMEM"),
        ReturnKind("int", "-EAGAIN"),
    )
    # a callee's result it returned before may have been -ENOMEM: moving it inline is no change
    assert (
        added_kinds(frozenset({ReturnKind("int", "0"), unknown}), frozenset({nomem, unknown}))
        == set()
    )
    assert added_kinds(frozenset({ReturnKind("int", "-E*")}), frozenset({eagain})) == set()
    assert added_kinds(frozenset({nomem}), frozenset({nomem, unknown})) == set()
    assert added_kinds(frozenset({nomem}), frozenset({nomem, eagain})) == {eagain}


def test_the_demo_changes_no_return_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundled demo series changes function bodies but no return contract: tree mode finds
    no contract to infer, and so nothing of rule inferred-contract."""
    import json
    import subprocess

    from tests.helpers import run_cli

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tree = tmp_path / "demo-tree"
    bundle = FIXTURES.parent / "tree" / "demo-tree.bundle"
    subprocess.run(["git", "clone", "-q", str(bundle), str(tree)], check=True)
    demo = FIXTURES.parent / "demo"
    result = run_cli(
        capsys,
        "audit",
        str(demo / "demo.mbox"),
        "--tree",
        str(tree),
        "--rule",
        str(demo / "pte-demo.toml"),
        "--format",
        "json",
    )
    assert result.code in (0, 1), result.err
    data = json.loads(result.out)
    assert data["contracts"] == []
    assert not [f for f in data["findings"] if f["rule"] == "inferred-contract"]
