"""Shared test helpers: run the CLI in-process, read mbox files independently of reviewtool."""

from __future__ import annotations

import json
import mailbox
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reviewtool.cli import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    code = main(list(args))
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def mbox_messages(path: Path) -> list[mailbox.mboxMessage]:
    """The messages as Python's mailbox module reads them (an independent parse)."""
    return list(mailbox.mbox(str(path), create=False))


def git_numstat(patch_text: bytes) -> list[tuple[int | None, int | None, str]]:
    """`git apply --numstat` of one patch: (added, removed, path); None for binary."""
    out = subprocess.run(
        ["git", "apply", "--numstat", "-"], input=patch_text, capture_output=True, check=True
    ).stdout.decode()
    rows = []
    for line in out.splitlines():
        added, removed, path = line.split("\t", 2)
        rows.append(
            (None if added == "-" else int(added), None if removed == "-" else int(removed), path)
        )
    return rows


def b4_patch_ids(mbox: Path, tmp_path: Path) -> list[str]:
    """The Message-Ids of the patches b4 would apply, in order (`b4 --offline-mode am`)."""
    out_dir = tmp_path / "b4-out"
    subprocess.run(
        ["b4", "--offline-mode", "am", "-m", str(mbox), "-o", str(out_dir)],
        capture_output=True,
        check=True,
        cwd=tmp_path,
    )
    (mbx,) = out_dir.glob("*.mbx")
    return [str(m["Message-Id"]).strip().strip("<>") for m in mailbox.mbox(str(mbx))]
