"""Tree-sitter query files: one `.scm` per purpose in the project's `queries/` directory."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from reviewtool.errors import ToolchainError

if TYPE_CHECKING:
    import tree_sitter


def _query_dir() -> Path:
    """The queries and rules: installed with the package as `reviewtool.queries` (the
    repository's top-level `queries/`, mapped by pyproject.toml), else beside the package in a
    source checkout that was not installed."""
    try:
        spec = importlib.util.find_spec("reviewtool.queries")
    except ModuleNotFoundError:
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "rules").is_dir():
            return Path(location)
    return Path(__file__).resolve().parents[2] / "queries"


QUERY_DIR = _query_dir()


@functools.cache
def c_language() -> tree_sitter.Language:
    """The C grammar, from the tree-sitter-c package."""
    import tree_sitter
    import tree_sitter_c

    return tree_sitter.Language(tree_sitter_c.language())


def query_names(directory: Path = QUERY_DIR) -> list[str]:
    """The names (file stems) of every query file."""
    return sorted(path.stem for path in directory.glob("*.scm"))


@functools.cache
def load_query(name: str, directory: Path = QUERY_DIR) -> tree_sitter.Query:
    """Compile queries/<name>.scm against the C grammar."""
    import tree_sitter

    path = directory / f"{name}.scm"
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ToolchainError(f"{path}: cannot read query: {error.strerror}") from error
    try:
        query: tree_sitter.Query = tree_sitter.Query(c_language(), source)
    except (tree_sitter.QueryError, ValueError) as error:
        raise ToolchainError(f"{path}: query does not compile: {error}") from error
    return query


def parser() -> tree_sitter.Parser:
    import tree_sitter

    return tree_sitter.Parser(c_language())
