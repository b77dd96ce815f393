"""Series the CLI tests of several commands audit: a clean one and one with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import mbox, patch_body, series


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    path = tmp_path / "clean.mbox"
    path.write_bytes(mbox(series(2)))
    return path


@pytest.fixture
def warned(tmp_path: Path) -> Path:
    msgs = series(2)
    msgs[1].body = patch_body("mm/f1.c", ["int a; "])
    path = tmp_path / "warned.mbox"
    path.write_bytes(mbox(msgs))
    return path
