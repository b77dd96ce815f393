"""Per-patch cross-builds: every architecture the series touches, only what each patch makes
worse.

One source checkout per tree (kept in the cache) is moved from state to state with
`git read-tree -m -u`, which rewrites only the files that change, so `make` rebuilds only what
depends on them. Each (architecture, toolchain) has its own out-of-tree build directory (`O=`)
in the cache, reused across runs and patches. The base is built first; after each patch only
the objects whose Kbuild dependency list (`.name.o.cmd`) contains a changed file are rebuilt,
and an object that is not rebuilt keeps its parent's diagnostics. Diagnostics are compared by
identity (file, function, flag, normalised message), never by count.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import re
import shlex
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from reviewtool import proc
from reviewtool.config import default_cache_dir
from reviewtool.errors import InputError, ToolchainError
from reviewtool.findings import BuildFacts, Finding, Rule, RuleKind, Severity
from reviewtool.git import AppliedSeries, TreeState, Workspace, run_git
from reviewtool.intake.series import Series
from reviewtool.kbuild.arches import Arch, arches, resolve_arch
from reviewtool.kbuild.diagnostics import Diagnostic, parse_diagnostics
from reviewtool.kbuild.kconfig import kconfig_dependencies
from reviewtool.kbuild.makefiles import guard_symbol, object_dependencies
from reviewtool.progress import BUILD, NOTHING, Progress

log = logging.getLogger(__name__)

_HOST_PATHS = ("scripts/", "tools/", "usr/")


@dataclass(frozen=True)
class BuildOptions:
    tree: Path
    base: str | None = None
    arches: tuple[str, ...] = ()  # empty: the touched ones plus the host
    jobs: int = 2
    make_jobs: int = 2  # parallel compiles within one architecture's make run
    toolchain: str = "auto"  # gcc | clang | auto
    timeout: float = 900.0
    cache_dir: Path | None = None
    work_dir: Path | None = None  # where the temporary repository goes (None: the temp dir)
    w1_on_host: bool = True
    sparse: bool = False
    arch_table: str = ""  # a different architecture table (tests)
    progress: Progress = field(default=NOTHING, compare=False)


@dataclass(frozen=True)
class Toolchain:
    name: str  # gcc | clang
    cross_compile: str
    description: str

    def make_variables(self, arch: Arch) -> list[str]:
        variables = [f"ARCH={arch.arch}"]
        if self.cross_compile:
            variables.append(f"CROSS_COMPILE={self.cross_compile}")
        if self.name == "clang":
            variables.append("LLVM=1")
        return variables


@dataclass(frozen=True)
class BuildCell:
    """One patch (0: the base) on one architecture."""

    patch: int
    arch: str
    status: str  # ok | new_warnings | new_errors | preexisting | not_built
    objects: tuple[str, ...]
    new_diagnostics: tuple[Diagnostic, ...] = ()
    preexisting_count: int = 0
    preexisting: tuple[Diagnostic, ...] = ()  # what the base already had, still there
    reason: str = ""
    toolchain: str = ""
    command: str = ""  # reproduces the new diagnostics


@dataclass(frozen=True)
class BuildResult:
    state: TreeState
    cells: tuple[BuildCell, ...]
    arches: tuple[str, ...]


@dataclass
class _ObjectState:
    built: bool = False
    reason: str = ""
    diagnostics: frozenset[Diagnostic] = frozenset()


@dataclass
class _ArchBuild:
    arch: Arch
    toolchain: Toolchain | None
    out: Path
    objects: list[str]
    reason: str = ""  # why nothing can be built
    unbuildable: dict[str, str] = field(default_factory=dict)  # object -> why
    objects_state: dict[str, _ObjectState] = field(default_factory=dict)
    w1: bool = False
    note: str = ""  # how the toolchain was chosen, when that is worth saying


def choose_arches(series: Series, options: BuildOptions) -> list[Arch]:
    table = arches(options.arch_table)
    if options.arches:
        return [resolve_arch(name, table) for name in options.arches]
    touched = {
        path.split("/")[1]
        for path in series.files
        if path.startswith("arch/") and path.count("/") >= 2
    }
    chosen = [resolve_arch(name, table) for name in sorted(touched) if _known(name, table)]
    host = _host_arch(table)
    if (
        host is not None
        and host not in chosen
        and any(not p.startswith("arch/") for p in series.files if p.endswith(".c"))
    ):
        chosen.insert(0, host)
    return chosen


def _known(name: str, table: dict[str, Arch]) -> bool:
    try:
        resolve_arch(name, table)
    except InputError:
        log.info("arch/%s is not in the architecture table", name)
        return False
    return True


def _host_arch(table: dict[str, Arch]) -> Arch | None:
    machine = platform.machine()
    for candidate in (machine, {"x86_64": "x86_64", "aarch64": "arm64"}.get(machine, "")):
        try:
            return resolve_arch(candidate, table)
        except InputError:
            continue
    return None


def find_toolchain(arch: Arch, wanted: str) -> tuple[Toolchain | None, str]:
    """The toolchain to build `arch` with, or None and a reason a person can act on."""
    gcc = next((p for p in arch.cross_compile if shutil.which(f"{p}gcc")), None)
    clang = arch.clang and shutil.which("clang") and shutil.which("ld.lld")
    if wanted in ("gcc", "auto") and gcc is not None:
        return Toolchain("gcc", gcc, f"{gcc}gcc"), ""
    if wanted in ("clang", "auto") and clang:
        return Toolchain(
            "clang", arch.cross_compile[0] if arch.cross_compile else "", "clang (LLVM=1)"
        ), ""
    if wanted == "clang":
        why = "clang does not build it" if not arch.clang else "install clang and lld"
        return None, f"no clang toolchain for {arch.name}: {why}"
    if not arch.debian:
        return None, f"no toolchain for {arch.name} (Debian has none)"
    return None, f"no toolchain for {arch.name}: install {arch.debian}"


def objects_for(series: Series, arch: Arch) -> list[str]:
    """The objects of every .c file the series touches that this architecture may compile."""
    objects = []
    for path in series.files:
        if not path.endswith(".c") or path.startswith(("tools/", "scripts/", "samples/")):
            continue
        if path.startswith("arch/") and path.split("/")[1] != arch.arch:
            continue
        if "/selftests/" in path or path.startswith("Documentation/"):
            continue
        objects.append(path[:-2] + ".o")
    return objects


class Builder:
    """Builds one tree state after another on every architecture."""

    def __init__(
        self,
        options: BuildOptions,
        workspace: Workspace,
        cache: Path,
        progress: Progress = NOTHING,
    ) -> None:
        self.options = options
        self.workspace = workspace
        self.cache = cache
        self.source = cache / "src"
        self.tracker = progress

    def progress(self, message: str) -> None:
        log.info("%s", message)
        self.tracker.message(message)

    # -- the source checkout ----------------------------------------------------------------

    def checkout(self, commit: str, previous: str | None) -> None:
        """Move the cached source checkout to commit, rewriting only files that change."""
        index = self.cache / "src.index"
        marker = self.cache / "src.commit"
        recorded = previous or (marker.read_text().strip() if marker.is_file() else "")
        self.source.mkdir(parents=True, exist_ok=True)
        moved = False
        if recorded and index.is_file():
            result = self._git("read-tree", "-m", "-u", recorded, commit)
            moved = result.returncode == 0
        if not moved:
            log.info("checking out %s into the build cache", commit[:12])
            index.unlink(missing_ok=True)
            self._git("read-tree", "--reset", "-u", commit, check=True)
        marker.write_text(commit + "\n")

    def _git(self, *args: str, check: bool = False) -> proc.Completed:
        """git on the private repository, with the build checkout as its work tree."""
        return run_git(
            *args,
            cwd=self.source,
            git_dir=self.workspace.git_dir,
            index=self.cache / "src.index",
            work_tree=self.source,
            check=check,
        )

    # -- one architecture --------------------------------------------------------------------

    def prepare(
        self, arch: Arch, objects: list[str], toolchain: Toolchain | None = None
    ) -> _ArchBuild:
        reason = ""
        if toolchain is None:
            toolchain, reason = find_toolchain(arch, self.options.toolchain)
        out = self.cache / f"{arch.name}-{toolchain.name if toolchain else 'none'}"
        build = _ArchBuild(arch, toolchain, out, objects, reason=reason)
        if toolchain is None:
            return build
        build.w1 = self.options.w1_on_host and arch == _host_arch(arches(self.options.arch_table))
        symbols: dict[str, str | None] = {o: guard_symbol(self.source, o) for o in objects}
        for obj, symbol in symbols.items():
            if symbol is None:
                build.unbuildable[obj] = "its Makefile does not list it"
        wanted = sorted({s for s in symbols.values() if s})
        try:
            self._configure(build, wanted)
        except ToolchainError as error:
            build.reason = f"configuration failed: {error.message}"
            return build
        config = _read_config(out / ".config")
        for obj, symbol in symbols.items():
            if symbol and config.get(symbol) not in ("y", "m"):
                build.unbuildable[obj] = f"CONFIG_{symbol} cannot be enabled on {arch.name}"
        return build

    def _configure(self, build: _ArchBuild, symbols: list[str]) -> None:
        assert build.toolchain is not None
        key = hashlib.sha256(
            "\0".join([build.arch.defconfig, build.toolchain.description, *symbols]).encode()
        ).hexdigest()
        stamp = build.out / ".reviewtool-config"
        if (
            stamp.is_file()
            and stamp.read_text().strip() == key
            and (build.out / ".config").is_file()
        ):
            return
        build.out.mkdir(parents=True, exist_ok=True)
        self._make(build, [build.arch.defconfig], quiet=True, check=True)
        enable = []
        for symbol in symbols:
            for needed in kconfig_dependencies(self.source, symbol, build.arch.arch):
                enable += ["-e", needed]
        if enable:
            proc.run(
                [
                    str(self.source / "scripts" / "config"),
                    "--file",
                    str(build.out / ".config"),
                    *enable,
                ],
                cwd=self.source,
                timeout=self.options.timeout,
            )
            self._make(build, ["olddefconfig"], quiet=True, check=True)
        stamp.write_text(key + "\n")

    def _make(
        self,
        build: _ArchBuild,
        targets: list[str],
        *,
        quiet: bool = False,
        check: bool = False,
        extra: Sequence[str] = (),
    ) -> proc.Completed:
        assert build.toolchain is not None
        command = [
            "make",
            *(["-s"] if quiet else []),
            f"O={build.out}",
            *build.toolchain.make_variables(build.arch),
            *extra,
            *targets,
        ]
        return proc.run(
            command,
            cwd=self.source,
            timeout=self.options.timeout,
            check=check,
            merge_output=True,
        )

    def command_line(self, build: _ArchBuild, objects: Sequence[str]) -> str:
        assert build.toolchain is not None
        extra = ["W=1"] if build.w1 else []
        return shlex.join(
            [
                "make",
                f"O={build.out}",
                *build.toolchain.make_variables(build.arch),
                *extra,
                *objects,
            ]
        )

    def build_objects(self, build: _ArchBuild, objects: list[str]) -> None:
        """Compile objects in one make run (-k), in parallel with make's output grouped per
        target (--output-sync), so that each compiler's output follows the `CC <object>` line
        Kbuild prints for it, and record the results."""
        targets = [o for o in objects if o not in build.unbuildable]
        if not targets:
            return
        extra = [
            "-k",
            f"-j{self.options.make_jobs}",
            "--output-sync=target",
            *(["W=1"] if build.w1 else []),
            *(["C=1"] if self.options.sparse else []),
        ]
        try:
            result = self._make(build, targets, extra=extra)
        except ToolchainError as error:  # a timeout: nothing of this run can be trusted
            for obj in targets:
                build.objects_state[obj] = _ObjectState(False, error.message)
            return
        output = (result.stdout + result.stderr).decode("utf-8", "replace")
        sections = _split_by_object(output, targets)
        for obj in targets:
            if obj not in sections and obj in build.objects_state and (build.out / obj).is_file():
                continue  # make found it up to date: it keeps what it had
            text = sections.get(obj, "")
            diagnostics = frozenset(
                d
                for d in parse_diagnostics(text, self.source)
                if not d.path.startswith(_HOST_PATHS)
            )
            built = (build.out / obj).is_file() and not any(
                d.severity == "error" for d in diagnostics
            )
            reason = (
                ""
                if built
                else _failure_reason(text or output, obj).replace(str(self.source) + "/", "")
            )
            build.objects_state[obj] = _ObjectState(built, reason, diagnostics)

    def fallback_to_clang(self, build: _ArchBuild) -> _ArchBuild:
        """With --toolchain auto: when gcc cannot build the base for reasons outside the
        objects (a host tool of an old tree failing under a newer compiler), try clang."""
        if build.toolchain is None or build.toolchain.name != "gcc":
            return build
        states = [build.objects_state.get(o) for o in build.objects if o not in build.unbuildable]
        if not states or any(s is None or s.built for s in states):
            return build
        own = {o[:-2] + ".c" for o in build.objects}
        if any(d.path in own for s in states if s for d in s.diagnostics):
            return build  # the objects themselves fail: that is a result, not a toolchain issue
        toolchain, _ = find_toolchain(build.arch, "clang")
        if toolchain is None:
            return build
        why = next((s.reason for s in states if s and s.reason), "the build failed").replace(
            str(self.source) + "/", ""
        )
        log.info("%s: gcc fails outside the objects (%s); trying clang", build.arch.name, why)
        retry = self.prepare(build.arch, build.objects, toolchain)
        self.build_objects(retry, retry.objects)
        retry.note = f"gcc could not build the base outside the objects ({why}); built with clang"
        return retry

    def stale(self, build: _ArchBuild, changed: set[str]) -> list[str]:
        """Objects whose recorded dependencies include a changed file, or that never built."""
        stale = []
        for obj in build.objects:
            if obj in build.unbuildable:
                continue
            state = build.objects_state.get(obj)
            deps = object_dependencies(build.out, self.source, obj)
            source = obj[:-2] + ".c"
            if state is None or deps is None or source in changed or deps & changed:
                stale.append(obj)
        return stale


_COMPILE_LINE = re.compile(r"^\s+(?:CC|CC \[M\]|CHECK)\s+(\S+)\.[oc]\s*$")


def _split_by_object(output: str, objects: Sequence[str]) -> dict[str, str]:
    """Build output cut at each `  CC      path.o` line: what each compile printed. make's
    own complaints about an object (`No rule to make target 'x.o'`) go to that object."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    wanted = set(objects)
    for line in output.splitlines():
        match = _COMPILE_LINE.match(line)
        if match:
            obj = match.group(1) + ".o"  # `CC x.o`, or sparse's `CHECK /src/x.c`
            current = (
                obj if obj in wanted else next((w for w in wanted if obj.endswith("/" + w)), None)
            )
            if current is not None:
                sections.setdefault(current, [])  # compiled, even if it printed nothing
            continue
        if "No rule to make target" in line:
            for obj in wanted:
                if f"'{obj}'" in line or f"`{obj}'" in line:
                    sections.setdefault(obj, []).append(line)
            continue
        if current is not None:
            sections.setdefault(current, []).append(line)
    return {obj: "\n".join(lines) for obj, lines in sections.items()}


def _failure_reason(output: str, obj: str) -> str:
    for line in output.splitlines():
        if "No rule to make target" in line:
            return f"not built: no rule to make {obj} (not selected by the configuration)"
    errors = [line for line in output.splitlines() if "error" in line.lower()]
    return errors[0].strip()[:200] if errors else "the build failed"


def _read_config(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return values
    for line in lines:
        if line.startswith("CONFIG_") and "=" in line:
            name, value = line[7:].split("=", 1)
            values[name] = value
    return values


def build_series(
    series: Series,
    options: BuildOptions,
    progress: Progress | None = None,
    applied: AppliedSeries | None = None,
) -> BuildResult:
    """Build the base and every patch on every chosen architecture: on `applied`, the series
    as this run applied it (shared with the tree audit), or else on an application of its own."""
    chosen = choose_arches(series, options)
    if not chosen:
        raise InputError("no architecture to build: the series touches no .c file")
    if applied is None:
        with AppliedSeries(series, options, progress=progress or options.progress) as own:
            return build_series(series, options, progress, own)
    state = applied.state()
    cache = _cache_dir(options)
    builder = Builder(options, applied.workspace, cache, progress or options.progress)
    try:
        cells = _build_states(builder, series, chosen, state)
    finally:
        builder.checkout(state.base, None)  # leave the cache at a commit the tree has
    return BuildResult(state, tuple(cells), tuple(a.name for a in chosen))


def _cache_dir(options: BuildOptions) -> Path:
    root = options.cache_dir or default_cache_dir()
    key = hashlib.sha256(str(options.tree.resolve()).encode()).hexdigest()[:16]
    path = root / "build" / key
    path.mkdir(parents=True, exist_ok=True)
    return path


def _build_states(
    builder: Builder, series: Series, chosen: list[Arch], state: TreeState
) -> list[BuildCell]:
    builder.progress(f"checking out the base {state.base[:12]}")
    builder.checkout(state.base, None)
    builds = [builder.prepare(arch, objects_for(series, arch)) for arch in chosen]
    tracker = builder.tracker
    tracker.start(BUILD, "build cells", len(builds) * (len(state.applied) + 1))
    cells: list[BuildCell] = []
    history: dict[str, dict[str, frozenset[Diagnostic]]] = {}
    states: list[tuple[int, str]] = [(0, state.base)]
    states += [(a.number, a.commit) for a in state.applied]
    previous_commit = state.base
    jobs = max(1, builder.options.jobs)
    for number, commit in states:
        changed: set[str] = set()
        if number:
            changed = set(builder.workspace.changed_between(previous_commit, commit))
            builder.checkout(commit, previous_commit)
            previous_commit = commit
        builder.progress(f"building patch {number} on {len(builds)} architectures")

        def one(build: _ArchBuild, changed: set[str] = changed, number: int = number) -> None:
            try:
                if build.toolchain is None or build.reason:
                    return
                targets = build.objects if not number else builder.stale(build, changed)
                builder.build_objects(build, targets)
                if not number and builder.options.toolchain == "auto":
                    builds[builds.index(build)] = builder.fallback_to_clang(build)
            finally:
                tracker.advance(BUILD, f"patch {number} on {build.arch.name}")

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, builds))
        for build in builds:
            cells.append(_cell(builder, build, number, history))
    return cells


def _cell(
    builder: Builder,
    build: _ArchBuild,
    number: int,
    history: dict[str, dict[str, frozenset[Diagnostic]]],
) -> BuildCell:
    name = build.arch.name
    toolchain = build.toolchain.description if build.toolchain else ""
    if build.toolchain is None or build.reason:
        return BuildCell(
            number,
            name,
            "not_built",
            tuple(build.objects),
            reason=build.reason,
            toolchain=toolchain,
        )
    buildable = [o for o in build.objects if o not in build.unbuildable]
    if not buildable:
        reasons = "; ".join(f"{o}: {why}" for o, why in build.unbuildable.items())
        return BuildCell(
            number,
            name,
            "not_built",
            tuple(build.objects),
            reason=reasons or "no object of the series is built on this arch",
            toolchain=toolchain,
        )
    current = {o: build.objects_state[o].diagnostics for o in buildable if o in build.objects_state}
    identities = {d.identity for ds in current.values() for d in ds}
    past = history.setdefault(name, {})
    parent = past.get("parent", frozenset())
    base = past.get("base")
    parent_ids = {d.identity for d in parent}
    new = sorted({d for ds in current.values() for d in ds if d.identity not in parent_ids})
    everything = frozenset(d for ds in current.values() for d in ds)
    past["parent"] = everything
    if base is None:
        past["base"] = everything
        base = everything
    base_ids = {d.identity for d in base}
    preexisting = sum(1 for i in identities if i in base_ids)
    failed = [o for o in buildable if not build.objects_state.get(o, _ObjectState()).built]
    if number == 0:
        new = []
    if any(d.severity == "error" for d in new):
        status = "new_errors"
    elif new:
        status = "new_warnings"
    elif failed or preexisting:
        status = "preexisting"
    else:
        status = "ok"
    reason = "; ".join(
        [
            *([build.note] if build.note else []),
            *(f"{o}: {build.unbuildable[o]}" for o in build.objects if o in build.unbuildable),
        ]
    )
    if failed and not new:
        reason = "; ".join(
            filter(
                None,
                [
                    reason,
                    *(
                        f"{o}: {build.objects_state[o].reason}"
                        for o in failed
                        if o in build.objects_state
                    ),
                ],
            )
        )
    objects_with_new = sorted({o for o, ds in current.items() if any(d in new for d in ds)})
    return BuildCell(
        patch=number,
        arch=name,
        status=status,
        objects=tuple(buildable),
        new_diagnostics=tuple(new),
        preexisting_count=preexisting,
        preexisting=tuple(sorted(d for d in everything if d.identity in base_ids)),
        reason=reason,
        toolchain=toolchain,
        command=builder.command_line(build, objects_with_new) if new else "",
    )


BUILD_RULE = Rule(
    "build", Severity.WARNING, "a patch adds a compiler warning or error", RuleKind.BUILD
)


def build_findings(result: BuildResult) -> list[Finding]:
    """Each new diagnostic, attributed to the patch that introduced it, on its architecture."""
    findings = []
    for cell in result.cells:
        for diagnostic in cell.new_diagnostics:
            flag = f" [{diagnostic.flag}]" if diagnostic.flag else ""
            findings.append(
                Finding(
                    rule="build",
                    severity=Severity.ERROR if diagnostic.severity == "error" else Severity.WARNING,
                    message=f"{cell.arch} ({cell.toolchain}): {diagnostic.severity}: "
                    f"{diagnostic.message}{flag}",
                    patch=cell.patch,
                    path=diagnostic.path,
                    line=diagnostic.line,
                    column=diagnostic.column or None,
                    function=diagnostic.function or None,
                    key="|".join((cell.arch, *diagnostic.identity)),
                    build=BuildFacts(
                        arch=cell.arch,
                        toolchain=cell.toolchain,
                        diagnostic=diagnostic.identity,
                        reproduce=cell.command,
                    ),
                )
            )
    return findings
