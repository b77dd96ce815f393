"""The README's architecture map is the package as it is: every folder, every module."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _map() -> dict[str, set[str]]:
    """Each folder of the Architecture table, with the module names its row cites."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        match = re.match(r"\| `([^`]+)/` \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = set(re.findall(r"`([a-z_0-9]+(?:\.toml)?)`", match.group(2)))
    return rows


def test_every_package_folder_is_on_the_map_with_every_module() -> None:
    rows = _map()
    package = ROOT / "reviewtool"
    folders = {f"reviewtool/{p.name}" for p in package.iterdir() if (p / "__init__.py").is_file()}
    assert folders | {"reviewtool"} <= rows.keys()
    for folder in folders | {"reviewtool"}:
        modules = {
            p.stem for p in (ROOT / folder).glob("*.py") if p.stem not in ("__init__", "__main__")
        }
        assert modules <= rows[folder], (folder, modules - rows[folder])
        for cited in rows[folder]:
            assert (ROOT / folder / cited).exists() or (ROOT / folder / f"{cited}.py").exists(), (
                folder,
                cited,
            )


def test_every_other_folder_on_the_map_exists() -> None:
    for folder in _map():
        assert (ROOT / folder).is_dir(), folder
