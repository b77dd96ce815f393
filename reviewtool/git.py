"""Applying a series to a kernel tree without touching the user's repository.

A `Workspace` is a throw-away bare repository in a temporary directory that borrows the user's
objects through `objects/info/alternates`: the user's checkout, index, refs, stash and object
store are only ever read. Each patch is applied to a private index with `git apply --cached`
(no checkout: a kernel checkout alone costs seconds) and committed with the patch's author,
date and message, so every later stage can look at the tree after patch k. The directory is
removed on success, on error and on Ctrl-C.

Every git command reviewtool runs goes through `run_git()` (and `BlobReader`), with one way
of building git's environment (`environment()`) and under the run's deadline (reviewtool.proc).
GitPython opens and validates repositories and creates the private one.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from reviewtool import proc
from reviewtool.errors import ApplyError, InputError, ToolchainError
from reviewtool.progress import APPLY, NOTHING, Progress

if TYPE_CHECKING:
    import git

    from reviewtool.intake.patch import Patch
    from reviewtool.intake.series import Series

log = logging.getLogger(__name__)

_FAILED_AT = re.compile(r"^error: patch failed: (.+):(\d+)$", re.MULTILINE)
_MISSING = re.compile(
    r"^error: (.+): (?:does not exist in index|No such file or directory)$", re.MULTILINE
)
_ALREADY = re.compile(r"^error: (.+): already exists in index$", re.MULTILINE)

# What points git at a repository. git sets them when it runs a hook; a command on another
# repository (the private one, the build checkout) must not inherit them.
LOCATION_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_PREFIX",
)


def forget_location() -> None:
    """Drop the variables git set for the repository that runs us (a hook): from here on,
    every git command names its repository."""
    for variable in LOCATION_VARIABLES:
        os.environ.pop(variable, None)


def environment(
    *,
    git_dir: Path | None = None,
    index: Path | None = None,
    work_tree: Path | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """git's environment: the caller's, less every variable that points git at a repository
    (every command names its own: the user's by its directory, ours by git_dir), plus what this
    command needs."""
    env = {k: v for k, v in os.environ.items() if k not in LOCATION_VARIABLES}
    if git_dir is not None:
        env["GIT_DIR"] = str(git_dir)
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    if work_tree is not None:
        env["GIT_WORK_TREE"] = str(work_tree)
    env.update(extra or {})
    return env


def run_git(
    *args: str,
    cwd: Path | None = None,
    git_dir: Path | None = None,
    index: Path | None = None,
    work_tree: Path | None = None,
    extra_env: dict[str, str] | None = None,
    input: bytes | None = None,
    check: bool = True,
) -> proc.Completed:
    """Run one git command: in cwd (a repository of the user's), or on git_dir (ours)."""
    env = environment(git_dir=git_dir, index=index, work_tree=work_tree, extra=extra_env)
    return proc.run(["git", *args], cwd=cwd, input=input, env=env, check=check)


@dataclass(frozen=True)
class HunkFailure:
    """One hunk that did not apply (or not cleanly), and why."""

    path: str
    hunk: int  # 1-based index within the file; 0 when the whole file failed
    line: int  # the hunk's start line in the old file
    reason: str

    def describe(self) -> str:
        where = f"{self.path} hunk {self.hunk} (@@ -{self.line} @@)" if self.hunk else self.path
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Applied:
    """What happened to one patch: `ok`, `fuzzy` (3-way or reduced context) or `failed`."""

    number: int
    status: str
    method: str
    commit: str
    changed: tuple[str, ...]
    failures: tuple[HunkFailure, ...] = field(default=())
    # For a `fuzzy` patch: the hunks that did not apply cleanly on their own, which `method`
    # (3-way merge or reduced context) was needed for.
    assisted: tuple[HunkFailure, ...] = field(default=())

    @property
    def failed_files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.path for f in self.failures))


@dataclass(frozen=True)
class TreeState:
    """The tree, the base used, and one commit per patch."""

    path: str
    base: str
    base_source: str  # "--base" | "base-commit" | "HEAD"
    applied: tuple[Applied, ...]

    @property
    def partial_from(self) -> int | None:
        """The first patch that did not apply cleanly; later states are partial."""
        return next((a.number for a in self.applied if a.status == "failed"), None)


class Workspace:
    """A private repository borrowing the objects of the user's kernel tree."""

    def __init__(self, tree: Path, work_dir: Path | None = None) -> None:
        self.tree = tree
        self.work_dir = work_dir  # where the temporary repository goes (None: the temp dir)
        self._temp: Path | None = None
        self._user_repo: git.Repo | None = None

    def __enter__(self) -> Workspace:
        import git

        try:
            user = git.Repo(self.tree)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as error:
            raise InputError(f"{self.tree}: not a git tree") from error
        self._user_repo = user
        objects = Path(user.common_dir) / "objects"
        # The name is chosen, and remembered for the cleanup, before the directory exists: a
        # --timeout or Ctrl-C that lands in between leaves nothing behind.
        self._temp = proc.scratch("reviewtool-", self.work_dir)
        try:
            self._temp.mkdir(mode=0o700)
            # Made by git with our own environment: GitPython's init would follow a GIT_DIR
            # set by a hook to the user's repository.
            bare = self._temp / "repo.git"
            run_git("init", "-q", "--bare", str(bare), git_dir=bare)
            alternates = bare / "objects" / "info" / "alternates"
            alternates.write_text(f"{objects.resolve()}\n", encoding="utf-8")
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        with proc.uninterrupted():
            if self._user_repo is not None:
                self._user_repo.close()
                self._user_repo = None
            if self._temp is not None:
                proc.remove_scratch(self._temp)
                self._temp = None

    @property
    def git_dir(self) -> Path:
        """The private repository."""
        assert self._temp is not None, "use Workspace as a context manager"
        return self._temp / "repo.git"

    def git(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        index: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> proc.Completed:
        """A git command on the private repository (index: with its private index)."""
        assert self._temp is not None, "use Workspace as a context manager"
        return run_git(
            *args,
            git_dir=self.git_dir,
            index=self._temp / "index" if index else None,
            extra_env=extra_env,
            input=input,
            check=check,
        )

    def blobs(self) -> BlobReader:
        """A persistent `git cat-file --batch` on the private repository."""
        return BlobReader(self.git_dir)

    def resolve(self, rev: str) -> str | None:
        """The commit id rev names in the user's tree, or None."""
        assert self._user_repo is not None
        result = run_git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}",
            cwd=self.tree,
            check=False,
        )  # fmt: skip
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def blob_ids(self, commit: str, paths: Sequence[str]) -> dict[str, str]:
        """Blob ids of paths at commit (absent paths are left out)."""
        if not paths:
            return {}
        out = self.git("ls-tree", "-z", commit, "--", *paths).stdout.decode("utf-8", "replace")
        ids: dict[str, str] = {}
        for entry in out.split("\0"):
            if entry and "\t" in entry:
                meta, path = entry.split("\t", 1)
                parts = meta.split()
                if len(parts) == 3 and parts[1] == "blob":
                    ids[path] = parts[2]
        return ids

    def apply_series(self, patches: Sequence[Patch], base: str, *, strict: bool) -> list[Applied]:
        """Apply each patch in turn on base, one commit per patch."""
        return list(self.apply_each(patches, base, strict=strict))

    def apply_each(self, patches: Sequence[Patch], base: str, *, strict: bool) -> Iterator[Applied]:
        """Apply the patches one by one, yielding each result as soon as it is committed."""
        self._reset_index(base)
        parent = base
        for patch in patches:
            applied = self._apply_one(patch, parent)
            if applied.status == "failed" and strict:
                detail = "; ".join(f.describe() for f in applied.failures)
                raise ApplyError(f"patch {patch.number} does not apply: {detail}")
            log.info("patch %d: %s (%s)", patch.number, applied.status, applied.method)
            yield applied
            parent = applied.commit

    def _reset_index(self, commit: str) -> None:
        """The private index at commit; split, so that each patch rewrites only its changes."""
        self.git("read-tree", commit, index=True)
        self.git("update-index", "--split-index", index=True)

    def _apply_one(self, patch: Patch, parent: str) -> Applied:
        diff = patch.diff_text.encode("utf-8", "surrogateescape")
        changed = tuple(sorted({f.path for f in patch.files} | {f.old_path for f in patch.files}))
        refused = _unsafe_failures(patch)
        if refused:  # never handed to git: it could name a file outside the tree
            commit = self._commit(patch, parent)
            return Applied(patch.number, "failed", "not applied (unsafe path)", commit, (), refused)
        attempts: list[tuple[str, str, list[str]]] = [
            ("ok", "git apply", []),
            ("fuzzy", "3-way merge", ["--3way"]),
            ("fuzzy", "reduced context (-C1)", ["-C1"]),
        ]
        assisted: tuple[HunkFailure, ...] = ()
        for status, method, options in attempts:
            result = self.git(
                "apply", "--cached", *options, "-", input=diff, check=False, index=True
            )
            if result.returncode == 0:
                commit = self._commit(patch, parent)
                return Applied(patch.number, status, method, commit, changed, (), assisted)
            self._reset_index(parent)  # undo a conflicted 3-way attempt
            if not options:
                assisted = self._unclean_hunks(patch)
        failures = self._apply_hunks(patch, parent)
        return Applied(
            patch.number,
            "failed",
            "partial (failing hunks left out)",
            self._commit(patch, parent),
            changed,
            tuple(failures),
        )

    def _unclean_hunks(self, patch: Patch) -> tuple[HunkFailure, ...]:
        """The hunks that do not apply cleanly on their own to the index as it is (the
        parent's), and why: what a 3-way merge or reduced context will have to do."""
        unclean = []
        for path, number, line, text in _split_hunks(patch.diff_text):
            data = text.encode("utf-8", "surrogateescape")
            result = self.git(
                "apply", "--cached", "--check", "-", input=data, check=False, index=True
            )
            if result.returncode != 0:
                unclean.append(HunkFailure(path, number, line, _reason(result.stderr)))
        return tuple(unclean)

    def _apply_hunks(self, patch: Patch, parent: str) -> list[HunkFailure]:
        """Apply what applies hunk by hunk, and say exactly which hunks do not and why."""
        failures: list[HunkFailure] = []
        for path, number, line, text in _split_hunks(patch.diff_text):
            data = text.encode("utf-8", "surrogateescape")
            result = self.git("apply", "--cached", "-", input=data, check=False, index=True)
            if result.returncode != 0:
                result = self.git(
                    "apply", "--cached", "-C1", "-", input=data, check=False, index=True
                )
            if result.returncode != 0:
                failures.append(HunkFailure(path, number, line, _reason(result.stderr)))
        return failures

    def _commit(self, patch: Patch, parent: str) -> str:
        tree = self.git("write-tree", index=True).stdout.decode().strip()
        message = f"{patch.subject.title}\n\n{patch.commit_message}\n"
        env = {
            "GIT_AUTHOR_NAME": patch.author.name or patch.author.email or "unknown",
            "GIT_AUTHOR_EMAIL": patch.author.email,
            "GIT_AUTHOR_DATE": patch.mail.date or "1970-01-01T00:00:00Z",
            "GIT_COMMITTER_NAME": "reviewtool",
            "GIT_COMMITTER_EMAIL": "reviewtool@localhost",
            "GIT_COMMITTER_DATE": patch.mail.date or "1970-01-01T00:00:00Z",
        }
        result = self.git("commit-tree", tree, "-p", parent, input=message.encode(), extra_env=env)
        return result.stdout.decode().strip()

    def changed_between(self, old: str, new: str) -> list[str]:
        out = self.git("diff-tree", "-r", "--name-only", "--no-renames", "-z", old, new).stdout
        return [p for p in out.decode("utf-8", "replace").split("\0") if p]


class BlobReader:
    """Reads `commit:path` blobs through one long-running `git cat-file --batch`."""

    def __init__(self, git_dir: Path) -> None:
        self._process = proc.start(["git", "cat-file", "--batch"], env=environment(git_dir=git_dir))

    def read(self, commit: str, path: str) -> tuple[str, bytes] | None:
        """(blob id, content) of path at commit, or None when absent or not a file."""
        assert self._process.stdin is not None and self._process.stdout is not None
        proc.check_deadline()
        try:
            self._process.stdin.write(f"{commit}:{path}\n".encode())
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        except BrokenPipeError:
            line = b""
        if not line:  # killed by the deadline, or gone
            proc.check_deadline()
            raise ToolchainError("git cat-file --batch stopped answering")
        header = line.decode().split()
        if len(header) != 3:
            return None
        blob, kind, size = header
        content = self._process.stdout.read(int(size))
        self._process.stdout.read(1)
        return (blob, content) if kind == "blob" else None

    def close(self, kill: bool = False) -> None:
        proc.stop(self._process, kill=kill)

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(kill=exc[0] is not None)


def _unsafe_failures(patch: Patch) -> tuple[HunkFailure, ...]:
    from reviewtool.intake.patch import unsafe_path

    paths = dict.fromkeys(p for f in patch.files for p in (f.old_path, f.path))
    return tuple(
        HunkFailure(p, 0, 0, f"not applied: {unsafe_path(p)}") for p in paths if unsafe_path(p)
    )


def _reason(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace")
    if _MISSING.search(text):
        return "the file does not exist in the tree"
    if _ALREADY.search(text):
        return "the file already exists in the tree"
    if match := _FAILED_AT.search(text):
        return f"context does not match the tree (git: patch failed at line {match.group(2)})"
    first = text.strip().splitlines()
    return first[0].removeprefix("error: ") if first else "does not apply"


def _split_hunks(diff_text: str) -> Iterator[tuple[str, int, int, str]]:
    """(path, hunk number, old start line, one-hunk patch) for every hunk of a diff."""
    from unidiff.patch import PatchSet

    for patched in PatchSet(diff_text):
        header = "".join(str(line) for line in patched.patch_info or ())
        path = patched.path
        if not len(patched) or patched.is_binary_file:
            yield path, 0, 0, str(patched)
            continue
        head = f"{header}--- {patched.source_file}\n+++ {patched.target_file}\n"
        for number, hunk in enumerate(patched, start=1):
            yield path, number, hunk.source_start, head + str(hunk)


class BackgroundApply:
    """Applies the series in a thread, so that auditing state k overlaps applying patch k+1.

    `results()` yields each Applied in order as it is ready (re-iterable); errors from the
    thread are raised in the caller. Use as a context manager: leaving stops and joins it.
    """

    def __init__(
        self,
        workspace: Workspace,
        patches: Sequence[Patch],
        base: str,
        strict: bool,
        progress: Progress = NOTHING,
    ) -> None:
        import queue
        import threading

        self._progress = progress

        self._queue: queue.Queue[Applied | BaseException | None] = queue.Queue()
        self._done: list[Applied] = []
        self._finished = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._work, args=(workspace, patches, base, strict), daemon=True
        )

    def _work(
        self, workspace: Workspace, patches: Sequence[Patch], base: str, strict: bool
    ) -> None:
        try:
            self._progress.start(APPLY, "patches applied", len(patches))
            for applied in workspace.apply_each(patches, base, strict=strict):
                self._progress.advance(APPLY, f"patch {applied.number}: {applied.status}")
                self._queue.put(applied)
                if self._stop.is_set():
                    break
            self._queue.put(None)
        except BaseException as error:  # handed to the consumer, raised there
            self._queue.put(error)

    def __enter__(self) -> BackgroundApply:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        # Not abandoned to a Ctrl-C: the thread applies into the temporary repository that
        # is removed next (a Ctrl-C has killed its command, and it starts no other).
        with proc.uninterrupted():
            self._thread.join()

    def results(self) -> Iterator[Applied]:
        yield from list(self._done)
        while not self._finished:
            item = self._queue.get()
            if item is None:
                self._finished = True
            elif isinstance(item, BaseException):
                self._finished = True
                raise item
            else:
                self._done.append(item)
                yield item

    def all(self) -> tuple[Applied, ...]:
        for _ in self.results():
            pass
        return tuple(self._done)


def choose_base(workspace: Workspace, base_option: str | None, series_base: str) -> tuple[str, str]:
    """The base commit and what chose it: --base, the series' base-commit:, or HEAD."""
    if base_option:
        base = workspace.resolve(base_option)
        if base is None:
            raise InputError(f"--base {base_option}: not a commit in {workspace.tree}")
        source = "--base"
    elif series_base and (base := workspace.resolve(series_base) or "") and base:
        source = "base-commit"
    else:
        head = workspace.resolve("HEAD")
        if head is None:
            raise InputError(f"{workspace.tree}: the tree has no commits")
        base, source = head, "HEAD"
    return base, source


class TreeLocation(Protocol):
    """Where a series is applied: the tree, the base asked for (None: the series' base-commit,
    else HEAD) and where the temporary repository goes (tree and build options are such)."""

    @property
    def tree(self) -> Path: ...
    @property
    def base(self) -> str | None: ...
    @property
    def work_dir(self) -> Path | None: ...


class AppliedSeries:
    """The series applied on its base, once per run, in one private repository: what the tree
    audit and the builds share. Patches are applied in a background thread (BackgroundApply),
    so the audit of state k overlaps applying patch k+1.

    Use as a context manager: leaving it stops the thread and removes the repository.
    """

    def __init__(
        self,
        series: Series,
        where: TreeLocation,
        *,
        strict: bool = False,
        progress: Progress = NOTHING,
    ) -> None:
        self.tree = where.tree
        self.progress = progress
        self.workspace = Workspace(where.tree, where.work_dir)
        self._patches = series.patches
        self._base_option = where.base
        self._series_base = series.base_commit
        self._strict = strict
        self.base = ""
        self.base_source = ""
        self._applier: BackgroundApply | None = None

    def __enter__(self) -> AppliedSeries:
        self.workspace.__enter__()
        try:
            self.base, self.base_source = choose_base(
                self.workspace, self._base_option, self._series_base
            )
            self._applier = BackgroundApply(
                self.workspace, self._patches, self.base, self._strict, self.progress
            ).__enter__()
        except BaseException:
            self.workspace.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._applier is not None:
                self._applier.__exit__(*exc)
        finally:
            self.workspace.__exit__(None, None, None)

    def results(self) -> Iterator[Applied]:
        """Each patch's result in order, as soon as it is applied (re-iterable)."""
        assert self._applier is not None, "use AppliedSeries as a context manager"
        return self._applier.results()

    def state(self) -> TreeState:
        """The tree state once every patch is applied."""
        assert self._applier is not None, "use AppliedSeries as a context manager"
        return TreeState(str(self.tree), self.base, self.base_source, self._applier.all())
