"""The example CI workflow: its structure, and every reviewtool command and option it uses."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.helpers import run_cli

WORKFLOW = ROOT / "examples" / "github-actions-build.yml"


def _commands(text: str) -> list[list[str]]:
    """Every `reviewtool ...` command of the workflow's run steps, folded lines joined."""
    joined = re.sub(r"\n\s+(?=--)", " ", text)  # `>` folded scalars continue on the next line
    commands = []
    for line in joined.splitlines():
        for raw in re.split(r"\|\||&&|^\s*-?\s*run:\s*>?", line):
            part = re.sub(r"\$\{\{[^}]*\}\}", "X", raw.strip())
            if part.startswith("reviewtool "):
                commands.append(shlex.split(part))
    return commands


def test_every_command_and_option_exists(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    commands = _commands(WORKFLOW.read_text())
    assert {c[1] for c in commands} == {"build", "audit", "merge"}
    for command in commands:
        help_text = run_cli(capsys, command[1], "--help").out
        for option in (w for w in command[2:] if w.startswith("--")):
            assert re.search(rf"{re.escape(option)}(?![\w-])", help_text), (command[1], option)


def test_shards_by_architecture_merges_comments_and_uploads_sarif() -> None:
    text = WORKFLOW.read_text()
    commands = _commands(text)
    build = next(c for c in commands if c[1] == "build")
    assert build[build.index("--arch") + 1] == "X"  # ${{ matrix.arch }}
    assert "--format" in build and build[build.index("--format") + 1] == "json"
    formats = {c[c.index("--format") + 1] for c in commands if "--format" in c}
    assert formats == {"json", "markdown", "sarif"}
    assert any(c[1] == "merge" and any(w.startswith("build-") for w in c) for c in commands)
    assert "github/codeql-action/upload-sarif@" in text
    assert "gh pr comment" in text and "--body-file comment.md" in text
    structure = _yaml(text)
    if structure is None:
        return
    jobs = structure["jobs"]
    assert jobs["build"]["strategy"]["matrix"]["arch"]
    assert jobs["report"]["needs"] == "build"
    assert jobs["report"]["permissions"]["security-events"] == "write"
    assert jobs["report"]["permissions"]["pull-requests"] == "write"


def _yaml(text: str) -> Any:
    """The parsed workflow when PyYAML is there (it is no dependency of reviewtool)."""
    import importlib

    try:
        yaml = importlib.import_module("yaml")  # untyped: Any
    except ImportError:
        return None
    return yaml.safe_load(text)
