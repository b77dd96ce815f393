"""Contract rules: each loads, and each has annotated C fixtures that the audit must match
both ways (`// expect: <rule>` above an unhandled use, `// ok: <rule>` above a handled one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewtool.analysis.callsites import Auditor, StateAudit
from reviewtool.analysis.rules import RULE_DIR, load_rule, rule_names
from reviewtool.errors import InputError
from reviewtool.kbuild.kconfig import Kconfig
from tests.conftest import FIXTURES

RULE_FIXTURES = FIXTURES / "rules"
ANNOTATION = re.compile(r"//\s*(expect|ok|latent|unknown):\s*([\w-]+)\s*$")
# what each annotation wants the site's verdict to be
VERDICTS = {"expect": "unhandled", "ok": "handled", "latent": "latent", "unknown": "unknown"}


def audit_directory(rule_path: str, directory: Path) -> StateAudit:
    """Audit every .c file of a fixture directory as one small tree: its headers
    (`include/...`) and Kconfig files (`Kconfig`, `arch/<arch>/Kconfig`) are the tree's."""
    rule = load_rule(rule_path)
    files = {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }
    sources = [path for path in files if path.endswith(".c")]
    kconfigs = {p: d.decode() for p, d in files.items() if p.rsplit("/", 1)[-1] == "Kconfig"}

    def read(path: str) -> tuple[str, bytes] | None:
        return (path, files[path]) if path in files else None

    def find(names: set[str]) -> set[str]:
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
        return {name for name in sources if pattern.search(files[name].decode())}

    return Auditor(rule).audit(sources, read, find, Kconfig(kconfigs) if kconfigs else None)


def annotated_lines(path: Path, rule_id: str) -> dict[int, str]:
    """Line number of the annotated line -> "expect", "ok", "latent" or "unknown"."""
    wanted: dict[int, str] = {}
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        match = ANNOTATION.search(text)
        if match and match.group(2) == rule_id:
            wanted[number + 1] = match.group(1)
    return wanted


def test_rules_exist_and_load() -> None:
    names = rule_names()
    assert {"uffd-wp-special-swap-pte", "pte-marker"} <= set(names)
    for name in names:
        rule = load_rule(name)
        assert rule.watch and rule.new_cases and rule.forbidden
        assert rule.new_cases <= rule.all_cases


@pytest.mark.parametrize("name", rule_names())
def test_every_rule_has_fixtures(name: str) -> None:
    rule = load_rule(name)
    directory = RULE_FIXTURES / rule.id
    assert sorted(directory.glob("*.c")), f"rule {rule.id} has no fixtures in {directory}"
    total = sum(len(annotated_lines(p, rule.id)) for p in directory.rglob("*.c"))
    assert total >= 10, f"rule {rule.id}: only {total} annotated lines"


def _fixture_cases() -> list[tuple[str, Path]]:
    cases = []
    for name in rule_names():
        rule_id = load_rule(name).id
        for path in sorted((RULE_FIXTURES / rule_id).rglob("*.c")):
            cases.append((name, path))
    return cases


@pytest.mark.parametrize(
    ("name", "path"),
    _fixture_cases(),
    ids=lambda v: "/".join(v.relative_to(RULE_FIXTURES).parts[1:]) if isinstance(v, Path) else v,
)
def test_fixture_annotations_hold_both_ways(name: str, path: Path) -> None:
    rule = load_rule(name)
    directory = RULE_FIXTURES / rule.id
    relative = path.relative_to(directory).as_posix()
    audit = audit_directory(name, directory)
    sites = [s for s in audit.sites if s.path == relative]
    assert audit.coverage.unparsed == () or all(
        u.path != relative for u in audit.coverage.unparsed
    ), audit.coverage.unparsed
    wanted = annotated_lines(path, rule.id)
    problems = []
    for line, kind in sorted(wanted.items()):
        here = [s for s in sites if s.line == line]
        verdict = VERDICTS[kind]
        if not here:
            problems.append(f"line {line}: `{kind}` but no watched or forbidden call found")
        elif (kind == "ok" and any(s.verdict != verdict for s in here)) or (
            kind != "ok" and not any(s.verdict == verdict for s in here)
        ):
            problems.append(
                f"line {line}: expected {verdict}, got "
                + "; ".join(f"{s.api}: {s.verdict} ({s.how})" for s in here)
            )
    for site in sites:
        if site.verdict != "handled" and VERDICTS.get(wanted.get(site.line, "")) != site.verdict:
            problems.append(
                f"line {site.line}: {site.api}({site.argument}) {site.verdict} but not "
                f"annotated so: {site.how}"
            )
    assert not problems, "\n".join(problems)


def test_unknown_rule_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no such rule"):
        load_rule("no-such-rule")


def test_bad_rule_file_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\n[cases.a]\n[predicates]\np = { true = ["zzz"] }\n')
    with pytest.raises(InputError, match="unknown cases"):
        load_rule(str(bad))


def test_rule_directory_is_documented() -> None:
    assert (RULE_DIR / "FORMAT.md").is_file()
