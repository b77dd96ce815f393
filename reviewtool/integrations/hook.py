"""git send-email's `sendemail-validate` hook: install it, remove it, and validate a series.

git send-email runs the hook once per outgoing file, before it sends anything, and sends
nothing when one run fails. A range is written by format-patch into one temporary directory,
and users pass `outgoing/*.patch`, so the outgoing series is the files of the hook file's
directory that belong to the same series (same revision, same number of patches). It is
audited once: the verdict is kept under the repository's git dir, keyed by the content of the
series files and the options, and every later file of the same send reads it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewtool import __version__
from reviewtool.errors import InputError, ReviewtoolError
from reviewtool.findings import (
    Finding,
    Severity,
    at_or_above,
    finding_from_dict,
    finding_to_dict,
)
from reviewtool.git import run_git
from reviewtool.intake.mail import Mail, Source, read_sources
from reviewtool.intake.subject import Subject, parse_subject

if TYPE_CHECKING:
    from reviewtool.kbuild.builder import BuildOptions

log = logging.getLogger(__name__)

HOOK_NAME = "sendemail-validate"
MARKER = "# reviewtool: sendemail-validate hook"
BACKUP_SUFFIX = ".reviewtool-backup"
_BASE_COMMIT = re.compile(rb"^base-commit: ([0-9a-f]{40})[ \t]*\r?$", re.MULTILINE)
_MAX_SERIES_FILES = 1000
_MAX_MESSAGE_BYTES = 32 << 20
_CACHE_DAYS = 7


@dataclass(frozen=True)
class Installed:
    path: Path
    backup: Path | None  # where a hook that was not reviewtool's was kept
    replaced_own: bool  # an older reviewtool hook was updated


@dataclass(frozen=True)
class Uninstalled:
    path: Path
    removed: bool
    restored: Path | None  # the backup that is the hook again


def hooks_directory(repo: Path) -> Path:
    """The hooks directory git uses in repo (honours core.hooksPath)."""
    out = run_git("rev-parse", "--git-path", "hooks", cwd=repo).stdout.decode().strip()
    return repo / out


def hook_script(python: str) -> str:
    return (
        "#!/bin/sh\n"
        f"{MARKER}\n"
        "# Installed by `reviewtool hook install`; `reviewtool hook uninstall` removes it.\n"
        "# git send-email --no-validate skips it.\n"
        f'exec {shlex.quote(python)} -m reviewtool hook run {HOOK_NAME} "$@"\n'
    )


def is_ours(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return MARKER.encode() in handle.read(4096)
    except OSError:
        return False


def install(repo: Path, python: str, *, force: bool) -> Installed:
    """Write the hook; a hook that is not reviewtool's is kept as a backup only with force."""
    path = hooks_directory(repo) / HOOK_NAME
    backup = path.with_name(HOOK_NAME + BACKUP_SUFFIX)
    exists = path.exists() or path.is_symlink()
    ours = exists and is_ours(path)
    kept = None
    if exists and not ours:
        if not force:
            raise InputError(
                f"{path}: a {HOOK_NAME} hook that is not reviewtool's exists; "
                "--force keeps it as " + backup.name
            )
        if backup.exists() or backup.is_symlink():
            raise InputError(f"{backup}: a backup already exists; move it away first")
        os.replace(path, backup)
        kept = backup
    _write_executable(path, hook_script(python))
    return Installed(path, kept, ours)


def _write_executable(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.chmod(0o755)
        os.replace(temporary, path)
    except OSError as error:
        raise InputError(f"{path}: cannot write the hook: {error.strerror}") from error


def uninstall(repo: Path) -> Uninstalled:
    """Remove reviewtool's hook (never another one) and put a backup back in its place."""
    path = hooks_directory(repo) / HOOK_NAME
    backup = path.with_name(HOOK_NAME + BACKUP_SUFFIX)
    exists = path.exists() or path.is_symlink()
    if exists and not is_ours(path):
        raise InputError(f"{path}: the {HOOK_NAME} hook is not reviewtool's; left alone")
    if exists:
        path.unlink()
    restored = None
    if backup.exists() or backup.is_symlink():
        os.replace(backup, path)
        restored = path
    return Uninstalled(path, exists, restored)


def store_fail_on(repo: Path, value: str) -> None:
    """`git config reviewtool.failOn VALUE` in the repository's own configuration."""
    run_git("config", "--local", "reviewtool.failOn", value, cwd=repo)


@dataclass(frozen=True)
class ValidateOptions:
    """What the hook audits: contract rules, whether to audit call sites, a build."""

    rules: tuple[str, ...] = ()
    tree: bool = True
    cache_dir: Path | None = None  # the tree audit's search cache
    build: BuildOptions | None = None  # tree and base are filled in from the series


@dataclass(frozen=True)
class Verdict:
    """The outgoing series' findings, and notes on what could not be checked."""

    files: tuple[Path, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    cached: bool
    first: bool  # the hook runs for the series' first file: say the notes then


def outgoing_series(patch_file: Path) -> tuple[Path, ...]:
    """The files of patch_file's directory that belong to its series, by name."""
    own = _subject(patch_file)
    if own is None or not own.counters_given:
        return (patch_file,)
    key = _series_key(own)
    members = []
    for candidate in _directory_files(patch_file.parent):
        subject = own if candidate == patch_file else _subject(candidate)
        if subject is not None and subject.counters_given and _series_key(subject) == key:
            members.append(candidate)
    return tuple(members) if patch_file in members else (patch_file,)


def _directory_files(directory: Path) -> list[Path]:
    try:
        files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError as error:
        raise InputError(f"{directory}: cannot list: {error.strerror}") from error
    return files[:_MAX_SERIES_FILES]


def _subject(path: Path) -> Subject | None:
    """The subject of the single message in path, or None when it holds no one patch mail."""
    try:
        if path.stat().st_size > _MAX_MESSAGE_BYTES:  # a tarball beside the patches
            return None
        mails: list[Mail] = read_sources([Source(name=str(path), path=path)])
    except (ReviewtoolError, OSError):
        return None
    if len(mails) != 1 or mails[0].problem:
        return None
    subject = parse_subject(mails[0].subject)
    return subject if subject.is_patch and not subject.is_reply else None


def _series_key(subject: Subject) -> tuple[int, int, tuple[str, ...]]:
    return subject.revision, subject.expected, tuple(sorted(p.upper() for p in subject.prefixes))


def validate(
    repo: Path, patch_file: Path, options: ValidateOptions, *, counter: int | None = None
) -> Verdict:
    """Audit the outgoing series patch_file belongs to, once per series content and options."""
    patch_file = patch_file.resolve()
    if not patch_file.is_file():
        raise InputError(f"{patch_file}: no such file")
    files = outgoing_series(patch_file)
    first = counter == 1 if counter is not None else patch_file == files[0]
    contents = [_read(path) for path in files]
    cache_file = _cache_directory(repo) / f"{_cache_key(contents, options)}.json"
    cached = _load(cache_file)
    if cached is not None:
        findings, notes = cached
        return Verdict(files, findings, notes, cached=True, first=first)
    findings, notes = _audit(repo, files, contents, options)
    _store(cache_file, findings, notes)
    return Verdict(files, findings, notes, cached=False, first=first)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from error


def _audit(
    repo: Path, files: Sequence[Path], contents: Sequence[bytes], options: ValidateOptions
) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    from reviewtool.review import AuditOptions, run

    sources = [
        Source(name=path.name, data=data) for path, data in zip(files, contents, strict=True)
    ]
    base, note = _usable_base(repo, contents) if options.tree else (None, "")
    tree = build = None
    if base is not None:
        from reviewtool.analysis.treeaudit import TreeOptions

        tree = TreeOptions(tree=repo, base=base, rules=options.rules, cache_dir=options.cache_dir)
        if options.build is not None:
            build = dataclasses.replace(options.build, tree=repo, base=base)
    # What is sent is the whole series: a missing cover letter is a finding here.
    report = run(sources, AuditOptions(tree=tree, build=build))
    return report.findings, (note,) if note else ()


def _usable_base(repo: Path, contents: Sequence[bytes]) -> tuple[str | None, str]:
    """The series' base-commit when repo has it, else None and why only series checks ran."""
    found = next(
        (m.group(1).decode() for data in contents for m in [_BASE_COMMIT.search(data)] if m), None
    )
    if found is None:
        return None, (
            "the patches carry no base-commit, so only the series checks ran "
            "(`git config format.useAutoBase whenAble` makes format-patch add one)"
        )
    exists = run_git("cat-file", "-e", f"{found}^{{commit}}", cwd=repo, check=False)
    if exists.returncode != 0:
        return None, (
            f"base-commit {found[:12]} is not in this repository, so only the series checks "
            "ran (fetch it to audit call sites)"
        )
    return found, ""


def _cache_directory(repo: Path) -> Path:
    git_dir = run_git("rev-parse", "--absolute-git-dir", cwd=repo).stdout.decode().strip()
    return Path(git_dir) / "reviewtool" / HOOK_NAME


def _cache_key(contents: Sequence[bytes], options: ValidateOptions) -> str:
    digest = hashlib.sha256(__version__.encode())
    described = {
        "rules": list(options.rules),
        "tree": options.tree,
        "build": None if options.build is None else list(options.build.arches),
        "toolchain": None if options.build is None else options.build.toolchain,
    }
    digest.update(json.dumps(described, sort_keys=True).encode())
    for data in contents:
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()[:32]


def _load(path: Path) -> tuple[tuple[Finding, ...], tuple[str, ...]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        findings = tuple(finding_from_dict(item) for item in data["findings"])
        notes = tuple(str(note) for note in data["notes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return findings, notes


def _store(path: Path, findings: Sequence[Finding], notes: Sequence[str]) -> None:
    """Keep the verdict for the other files of this send; stale entries are pruned."""
    data = {"findings": [finding_to_dict(f) for f in findings], "notes": list(notes)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _prune(path.parent)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        log.info("cannot keep the hook's verdict: %s", error)


def _prune(directory: Path) -> None:
    limit = time.time() - _CACHE_DAYS * 86400
    for entry in directory.glob("*.json"):
        if entry.stat().st_mtime < limit:
            entry.unlink(missing_ok=True)


def failing(verdict: Verdict, threshold: Severity | None) -> tuple[Finding, ...]:
    """The findings at or above threshold (None: never fail)."""
    return at_or_above(verdict.findings, threshold)
