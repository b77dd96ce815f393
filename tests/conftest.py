from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = Path(os.environ.get("REVIEWTOOL_SHARED", ROOT.parent / "shared"))
RFC_MBOX = SHARED / "series" / "uffd-wp-rfc-v1.mbox"


@pytest.fixture(autouse=True)
def hermetic_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the user's configuration: HOME and XDG dirs live in tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("REVIEWTOOL_DEBUG", raising=False)


@pytest.fixture
def rfc_mbox() -> Path:
    """The real 30-patch RFC, read from the shared directory beside the project."""
    if not RFC_MBOX.is_file():
        pytest.skip(f"real series not available ({RFC_MBOX})")
    return RFC_MBOX
