#!/usr/bin/env python3
"""Per-patch cross-build figures on a real tree: the incremental engine against the naive way.

    python3 benchmarks/build.py --tree61 LINUX_6_1_GIT_TREE [--patches 3]
        [--series MBOX --arch LIST [--baseline REV] [--repeat N]] [--skip-matrix]

Makes a series of N patches, each adding a comment to arch/<arch>/mm/hugetlbpage.c of every
architecture whose cross compiler is installed, then with a fresh cache:
  * the cold time of the base on all those architectures (checkout, configuration, build),
  * the incremental time of each patch (all architectures),
and, side by side on a sample (the last patch, each architecture), the naive way: a fresh
O= directory per patch per architecture (defconfig, the config symbols, the object).

With --series, `reviewtool audit MBOX --tree T --build --arch LIST` end to end (warm build
cache), the time of the runs and how many times each run applied the series' patches (from
the `-v` log); with --baseline REV, the code of that commit runs alternately with the current
code and the ratio of the medians is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from audit import HERE, code_env, export, side_by_side  # benchmarks/audit.py

from reviewtool.intake.mail import Source, read_sources
from reviewtool.intake.series import build_series as assemble
from reviewtool.kbuild.arches import arches
from reviewtool.kbuild.builder import BuildOptions, build_series, find_toolchain
from reviewtool.kbuild.kconfig import kconfig_dependencies
from reviewtool.progress import Progress


def make_series(tree: Path, names: list[str], patches: int, work: Path) -> Path:
    repo = work / "series"
    for name in names:
        path = repo / "arch" / name / "mm" / "hugetlbpage.c"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tree / "arch" / name / "mm" / "hugetlbpage.c", path)
    git = [
        "git",
        "-C",
        str(repo),
        "-c",
        "user.name=Bench Mark",
        "-c",
        "user.email=bench@example.org",
    ]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    for number in range(1, patches + 1):
        for name in names:
            path = repo / "arch" / name / "mm" / "hugetlbpage.c"
            path.write_text(path.read_text() + f"/* benchmark change {number} */\n")
        subprocess.run(
            [
                *git,
                "commit",
                "-qam",
                f"hugetlb: benchmark change {number}\n\n"
                "Signed-off-by: Bench Mark <bench@example.org>",
            ],
            check=True,
        )
    out = subprocess.run(
        [*git, "format-patch", "--stdout", f"-{patches}"], check=True, capture_output=True
    ).stdout
    mbox = work / "series.mbox"
    mbox.write_bytes(out)
    return mbox


def naive(tree: Path, name: str, work: Path) -> float:
    """One fresh build of arch/<name>/mm/hugetlbpage.o, as a script without a cache would."""
    arch = arches()[name]
    toolchain, _ = find_toolchain(arch, "gcc")
    assert toolchain is not None
    out = work / f"naive-{name}"
    variables = [f"O={out}", *toolchain.make_variables(arch)]
    start = time.perf_counter()
    subprocess.run(
        ["make", "-s", *variables, arch.defconfig], cwd=tree, check=True, capture_output=True
    )
    enable = [a for s in kconfig_dependencies(tree, "HUGETLB_PAGE", arch.arch) for a in ("-e", s)]
    subprocess.run(
        [str(tree / "scripts" / "config"), "--file", str(out / ".config"), *enable],
        cwd=tree,
        check=True,
    )
    subprocess.run(
        ["make", "-s", *variables, "olddefconfig"], cwd=tree, check=True, capture_output=True
    )
    subprocess.run(
        ["make", *variables, "-j2", f"arch/{arch.arch}/mm/hugetlbpage.o"],
        cwd=tree,
        check=False,
        capture_output=True,
    )
    seconds = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return seconds


class Marks(Progress):
    """The builder's messages, with the time each came."""

    def __init__(self, marks: list[tuple[float, str]]) -> None:
        self.marks = marks

    def message(self, text: str) -> None:
        self.marks.append((time.perf_counter(), text))


def tree_and_build(tree: Path, series: Path, arch: str, baseline: Path | None, repeat: int) -> None:
    """`audit --tree --build` end to end: seconds and patch applications per run."""
    applications: dict[str, int] = {}

    def measure(code: Path | None) -> float:
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "reviewtool", "-v", "audit", str(series), "--tree", str(tree),
             "--build", "--arch", arch, "--format", "json", "--fail-on", "never"],
            check=False, capture_output=True, text=True, env=code_env(code), cwd=code or HERE,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"audit failed: {result.stderr.strip().splitlines()[-1:]}")
        applied = len(re.findall(r"patch \d+: (?:ok|fuzzy|failed) \(", result.stderr))
        applications["baseline" if code else "current"] = applied
        return seconds

    print(f"audit --tree --build on {series.name}, --arch {arch}, warm cache:")
    measure(None)  # warms the build cache
    side_by_side("end to end", measure, baseline, repeat)
    print(
        "  patch applications per run: "
        + ", ".join(f"{who} {count}" for who, count in applications.items())
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree61", type=Path, default=os.environ.get("REVIEWTOOL_LINUX61_TREE"))
    parser.add_argument("--patches", type=int, default=3)
    parser.add_argument("--series", type=Path, help="also time audit --tree --build on it")
    parser.add_argument("--arch", default="arm64,s390", help="architectures for --series")
    parser.add_argument("--baseline", metavar="REV", help="run this commit's code side by side")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side-by-side figure")
    parser.add_argument("--skip-matrix", action="store_true", help="only the --series figures")
    args = parser.parse_args()
    if not args.tree61:
        print("build.py: give --tree61 (or REVIEWTOOL_LINUX61_TREE)", file=sys.stderr)
        return 2
    tree: Path = args.tree61
    if args.series:
        with tempfile.TemporaryDirectory() as exported:
            baseline = export(HERE.parent, args.baseline, Path(exported)) if args.baseline else None
            tree_and_build(tree, args.series.resolve(), args.arch, baseline, args.repeat)
        if args.skip_matrix:
            return 0
    available = [
        a.name
        for a in arches().values()
        if find_toolchain(a, "gcc")[0] is not None
        and (tree / "arch" / a.arch / "mm" / "hugetlbpage.c").is_file()
    ]
    print(f"tree {tree}; architectures with a cross compiler: {', '.join(available)}")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        mbox = make_series(tree, [arches()[n].arch for n in available], args.patches, work)
        series = assemble(read_sources([Source(str(mbox), mbox)]))
        marks: list[tuple[float, str]] = []
        start = time.perf_counter()
        result = build_series(
            series,
            BuildOptions(tree=tree, arches=tuple(available), jobs=2, cache_dir=work / "cache"),
            progress=Marks(marks),
        )
        total = time.perf_counter() - start
        starts = [t for t, m in marks if m.startswith("building patch")]
        ends = [*starts[1:], start + total]
        per_state = [b - a for a, b in zip(starts, ends, strict=True)]
        statuses = {(c.patch, c.arch): c.status for c in result.cells}
        print(
            f"cold base ({len(available)} architectures, checkout included): "
            f"{starts[0] - start + per_state[0]:.1f} s"
        )
        for number, seconds in enumerate(per_state[1:], start=1):
            row = ", ".join(f"{a}={statuses[(number, a)]}" for a in available)
            print(f"  patch {number}: incremental {seconds:.1f} s ({row})")
        incremental = sum(per_state[1:]) / max(1, len(per_state) - 1)
        naive_times = {name: naive(tree, name, work) for name in available}
        naive_patch = sum(naive_times.values())
        print(
            "naive, a fresh build per architecture for one patch: "
            + ", ".join(f"{n} {s:.1f} s" for n, s in naive_times.items())
            + f"; {naive_patch:.1f} s per patch"
        )
        print(
            f"incremental per patch: {incremental:.1f} s; naive per patch: {naive_patch:.1f} s;"
            f" ratio {naive_patch / incremental:.1f}x (target: >= 10x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
