"""Settings from `git config reviewtool.*`, read as git resolves them (system, global, repo).

Precedence is the caller's: a command-line option beats the value read here, which beats the
built-in default. Keys are camelCase as in git and b4 (`reviewtool.failOn`); git hands them
back lower-cased, so they are matched lower-cased.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reviewtool.errors import InputError
from reviewtool.git import run_git

log = logging.getLogger(__name__)

FAIL_ON_VALUES = ("error", "warning", "note", "never")
TOOLCHAIN_VALUES = ("auto", "gcc", "clang")

_TRUE = {"true", "yes", "on", "1", ""}
_FALSE = {"false", "no", "off", "0"}

# lower-cased key -> the spelling error messages and the README use
KEYS = {
    "reviewtool.failon": "reviewtool.failOn",
    "reviewtool.format": "reviewtool.format",
    "reviewtool.rule": "reviewtool.rule",
    "reviewtool.build": "reviewtool.build",
    "reviewtool.arch": "reviewtool.arch",
    "reviewtool.toolchain": "reviewtool.toolchain",
    "reviewtool.cachedir": "reviewtool.cacheDir",
    "reviewtool.tree": "reviewtool.tree",
    "reviewtool.emailfrom": "reviewtool.emailFrom",
}


@dataclass(frozen=True)
class Settings:
    """What git config says; None (or empty) where it says nothing."""

    fail_on: str | None = None
    format: str | None = None
    rules: tuple[str, ...] = ()
    build: bool | None = None
    arches: tuple[str, ...] = ()
    toolchain: str | None = None
    cache_dir: Path | None = None
    tree: bool | None = None
    email_from: str | None = None


def load(repo: Path) -> Settings:
    """The reviewtool.* settings that apply in repo."""
    result = run_git("config", "-z", "--get-regexp", r"^reviewtool\.", cwd=repo, check=False)
    if result.returncode not in (0, 1):  # 1: no such key
        first = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git config: {first[0] if first else 'cannot read the configuration'}")
    return parse(result.stdout)


def parse(output: bytes) -> Settings:
    """Settings from `git config -z --get-regexp` output: `key\\nvalue\\0` records."""
    values: dict[str, list[str]] = {}
    for key, value in _records(output):
        if key not in KEYS:
            log.info("ignoring unknown git config key %s", key)
            continue
        values.setdefault(key, []).append(value)
    return Settings(
        fail_on=_choice(values, "reviewtool.failon", FAIL_ON_VALUES),
        format=_choice(values, "reviewtool.format", _formats()),
        rules=tuple(v for v in values.get("reviewtool.rule", []) if v),
        build=_boolean(values, "reviewtool.build"),
        arches=tuple(
            name.strip()
            for value in values.get("reviewtool.arch", [])
            for name in value.split(",")
            if name.strip()
        ),
        toolchain=_choice(values, "reviewtool.toolchain", TOOLCHAIN_VALUES),
        cache_dir=_path(values, "reviewtool.cachedir"),
        tree=_boolean(values, "reviewtool.tree"),
        email_from=_address(values, "reviewtool.emailfrom"),
    )


def _formats() -> tuple[str, ...]:
    from reviewtool.render import FORMATTERS

    return tuple(FORMATTERS)


def _records(output: bytes) -> Iterator[tuple[str, str]]:
    for record in output.decode("utf-8", "surrogateescape").split("\0"):
        if not record:
            continue
        key, _, value = record.partition("\n")  # a key with no `=` has no value: boolean true
        yield key.lower(), value


def _last(values: dict[str, list[str]], key: str) -> str | None:
    """The value in force: as git does for single-valued keys, the last one wins."""
    found = values.get(key)
    return found[-1] if found else None


def _choice(values: dict[str, list[str]], key: str, allowed: tuple[str, ...]) -> str | None:
    value = _last(values, key)
    if value is None:
        return None
    if value.strip().lower() not in allowed:
        raise InputError(
            f"git config {KEYS[key]}: invalid value {value!r} (expected {_one_of(allowed)})"
        )
    return value.strip().lower()


def _boolean(values: dict[str, list[str]], key: str) -> bool | None:
    value = _last(values, key)
    if value is None:
        return None
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise InputError(f"git config {KEYS[key]}: invalid value {value!r} (expected true or false)")


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/reviewtool, else ~/.cache/reviewtool."""
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "reviewtool"
    try:
        return Path.home() / ".cache" / "reviewtool"
    except RuntimeError:
        raise InputError(
            "no home directory for the cache: set XDG_CACHE_HOME or reviewtool.cacheDir"
        ) from None


def _path(values: dict[str, list[str]], key: str) -> Path | None:
    value = _last(values, key)
    if value is None:
        return None
    if not value.strip():
        raise InputError(f"git config {KEYS[key]}: empty path")
    try:
        return Path(value).expanduser()
    except (RuntimeError, ValueError):
        # ~user for a user the system does not know (or a name no user can have: a NUL, an
        # undecodable byte), or ~ with no home directory.
        raise InputError(
            f"git config {KEYS[key]}: cannot expand {value!r} (no such user or home directory)"
        ) from None


def _address(values: dict[str, list[str]], key: str) -> str | None:
    value = _last(values, key)
    if value is None:
        return None
    if "@" not in value:
        raise InputError(f"git config {KEYS[key]}: {value!r} is not an email address")
    return value.strip()


def _one_of(allowed: tuple[str, ...]) -> str:
    return ", ".join(allowed[:-1]) + " or " + allowed[-1]
