"""A range of commits in the user's repository as the series it will be sent as.

`git format-patch --stdout` writes the messages, so what is checked is what `git send-email`
would send. A b4 prep branch keeps its cover letter as an empty commit whose message carries a
`--- b4-submit-tracking ---` section: that commit becomes the cover letter (0/N) and is not a
patch. The repository is only read.
"""

from __future__ import annotations

import email.header
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewtool.errors import InputError
from reviewtool.git import run_git
from reviewtool.intake.mail import Source

if TYPE_CHECKING:
    import git

log = logging.getLogger(__name__)

B4_MARKER = "--- b4-submit-tracking ---"
DEFAULT_RANGE = "@{upstream}..HEAD"
# format-patch names an empty commit between --base and the patches (b4's cover) by a null id.
_NULL_PREREQUISITE = re.compile(rb"^prerequisite-patch-id: 0{40}\n", re.MULTILINE)


@dataclass(frozen=True)
class B4Cover:
    """A b4 prep cover letter commit: its id, title, body and tracking data."""

    commit: str
    title: str
    body: str
    revision: int
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class CommitRange:
    """The commits to send: `base` is the parent of the first; `patches` excludes a b4 cover."""

    repo: Path
    spec: str
    base: str
    patches: tuple[str, ...]
    cover: B4Cover | None = None


@dataclass(frozen=True)
class RangeSeries:
    """The range and the series messages it becomes."""

    range: CommitRange
    source: Source


def open_repository(path: Path) -> Path:
    """The top-level directory (or git dir, when bare) of the repository at or above path."""
    repo = _repo(path)
    try:
        return Path(repo.working_tree_dir or repo.git_dir)
    finally:
        repo.close()


def _repo(path: Path) -> git.Repo:
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as error:
        raise InputError(f"{path}: not a git repository") from error


def resolve_range(repo: Path, rev_range: str | None, base: str | None) -> CommitRange:
    """The commits of rev_range (`A..B`, `A...B`, or `A` for `A..HEAD`), or of `base..HEAD`."""
    if rev_range and base:
        raise InputError("give a range or --base, not both")
    spec = f"{base}..HEAD" if base else rev_range or DEFAULT_RANGE
    if spec == DEFAULT_RANGE and _commit(repo, "@{upstream}") is None:
        raise InputError(
            "the current branch has no upstream: give a range (e.g. origin/master..) or --base REV"
        )
    start, end = _endpoints(repo, spec)
    commits = _linear_commits(repo, spec, start, end)
    cover = _b4_cover(repo, commits[0]) or (
        _b4_cover(repo, commits[-1]) if len(commits) > 1 else None
    )
    patches = tuple(c for c in commits if cover is None or c != cover.commit)
    if not patches:
        raise InputError(f"{spec}: the range holds only b4's cover letter, no patches")
    first_parent = _parent(repo, commits[0])
    return CommitRange(repo, spec, first_parent, patches, cover)


def _endpoints(repo: Path, spec: str) -> tuple[str, str]:
    if "..." in spec:
        left, _, right = spec.partition("...")
        start_rev, end_rev = left or "HEAD", right or "HEAD"
        end = _require_commit(repo, end_rev, spec)
        other = _require_commit(repo, start_rev, spec)
        merge_base = run_git("merge-base", other, end, cwd=repo, check=False)
        if merge_base.returncode != 0:
            raise InputError(f"{spec}: the two sides have no common ancestor")
        return merge_base.stdout.decode().strip(), end
    if ".." in spec:
        left, _, right = spec.partition("..")
        return _require_commit(repo, left or "HEAD", spec), _require_commit(
            repo, right or "HEAD", spec
        )
    return _require_commit(repo, spec, spec), _require_commit(repo, "HEAD", spec)


def _commit(repo: Path, rev: str) -> str | None:
    result = run_git(
        "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}",
        cwd=repo,
        check=False,
    )  # fmt: skip
    return result.stdout.decode().strip() if result.returncode == 0 else None


def _require_commit(repo: Path, rev: str, spec: str) -> str:
    found = _commit(repo, rev)
    if found is None:
        where = f" in {spec}" if spec != rev else ""
        raise InputError(f"{rev}{where}: not a commit in {repo}")
    return found


def _linear_commits(repo: Path, spec: str, start: str, end: str) -> tuple[str, ...]:
    """The commits of start..end, oldest first; a merge commit cannot become a patch."""
    listed = run_git("rev-list", "--reverse", "--parents", f"{start}..{end}", cwd=repo)
    listed_text = listed.stdout.decode()
    commits: list[str] = []
    for line in listed_text.splitlines():
        commit, *parents = line.split()
        if len(parents) > 1:
            raise InputError(
                f"{spec}: commit {commit[:12]} is a merge; a merge cannot be sent as a patch "
                "(rebase the range onto one base)"
            )
        commits.append(commit)
    if not commits:
        raise InputError(f"{spec}: the range holds no commits")
    return tuple(commits)


def _parent(repo: Path, commit: str) -> str:
    parent = _commit(repo, f"{commit}^")
    if parent is None:
        raise InputError(f"commit {commit[:12]} has no parent: the range needs a base commit")
    return parent


def _b4_cover(repo: Path, commit: str) -> B4Cover | None:
    """The b4 cover letter commit: empty, its message carrying b4's tracking section."""
    message = run_git("show", "-s", "--format=%B", commit, cwd=repo).stdout.decode(
        "utf-8", "replace"
    )
    if B4_MARKER not in message or not _is_empty(repo, commit):
        return None
    text, _, tracking_text = message.partition(B4_MARKER)
    tracking = _tracking(tracking_text)
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    title = lines[0].strip() if lines else ""
    body = "\n".join(lines[1:]).strip("\n")
    series = tracking.get("series", {}) if isinstance(tracking.get("series"), dict) else {}
    revision = series.get("revision", 1)
    prefixes = series.get("prefixes", [])
    return B4Cover(
        commit=commit,
        title=title,
        body=body,
        revision=revision if isinstance(revision, int) and revision > 0 else 1,
        prefixes=tuple(p for p in prefixes if isinstance(p, str))
        if isinstance(prefixes, list)
        else (),
    )


def _tracking(text: str) -> dict[str, Any]:
    """b4's tracking JSON: everything from the first `{` after the marker."""
    _, brace, rest = text.partition("{")
    try:
        data = json.loads(brace + rest)
    except ValueError:
        log.info("b4 tracking section is not JSON; using its defaults")
        return {}
    return data if isinstance(data, dict) else {}


def _is_empty(repo: Path, commit: str) -> bool:
    trees = run_git("rev-parse", f"{commit}^{{tree}}", f"{commit}^^{{tree}}", cwd=repo, check=False)
    ids = trees.stdout.decode().split()
    return trees.returncode == 0 and len(ids) == 2 and ids[0] == ids[1]


def range_series(commit_range: CommitRange) -> RangeSeries:
    """The range as `git format-patch --stdout` writes it, with base-commit, as one Source."""
    data = run_git(*_format_patch_args(commit_range), cwd=commit_range.repo).stdout
    cover = commit_range.cover
    if cover is not None and len(commit_range.patches) > 1:
        data = _fill_cover(_NULL_PREREQUISITE.sub(b"", data), cover)
    name = f"{commit_range.base[:12]}..{commit_range.patches[-1][:12]}"
    return RangeSeries(commit_range, Source(name=name, data=data))


def _format_patch_args(commit_range: CommitRange) -> list[str]:
    count = len(commit_range.patches)
    args = [
        "format-patch",
        "--stdout",
        f"--base={commit_range.base}",
        "--no-attach",
        "--no-signoff",  # format.signOff would hide a missing sign-off
        "--numbered" if count > 1 else "--no-numbered",
    ]
    cover = commit_range.cover
    if cover is not None and count > 1:
        args += ["--cover-letter", "--cover-from-description=none"]
    else:
        args.append("--no-cover-letter")
    if cover is not None:
        if cover.revision > 1:
            args.append(f"--reroll-count={cover.revision}")
        if cover.prefixes:
            args.append("--subject-prefix=" + " ".join(("PATCH", *cover.prefixes)))
    first, last = commit_range.patches[0], commit_range.patches[-1]
    args.append(f"{first}^..{last}")
    return args


def _fill_cover(data: bytes, cover: B4Cover) -> bytes:
    """format-patch's cover letter with b4's title and text in place of its placeholders."""
    title = cover.title or "(no title)"
    subject = title if title.isascii() else email.header.Header(title, "utf-8").encode()
    data = data.replace(b"*** SUBJECT HERE ***", subject.encode("ascii"), 1)
    body = cover.body.encode("utf-8")
    head = data.partition(b"\n\n")[0]
    if not body.isascii() and b"\nContent-Type:" not in head:
        data = data.replace(
            b"\n\n*** BLURB HERE ***",
            b"\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
            b"Content-Transfer-Encoding: 8bit\n\n*** BLURB HERE ***",
            1,
        )
    return data.replace(b"*** BLURB HERE ***", body, 1)
