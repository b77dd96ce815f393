#!/usr/bin/env python3
"""Call-site audit figures, side by side with Coccinelle's spatch on the same tree and question.

    python3 benchmarks/audit.py --tree61 LINUX_6_1_GIT_TREE [--tree511 V5_11_TREE --series RFC]
        [--baseline REV] [--repeat N]

On the 6.1 tree:
  * whole-tree audit with the pte-marker rule: wall time of a cold run (empty cache) and a warm
    run (the `git grep` results cached by tree id), and the peak RSS of each (a fresh process);
  * the question "is_swap_pte() then pte_to_swp_entry() without a guard against the special
    swap pte", asked of reviewtool (the uffd-wp rule, with its new case assumed to exist) and of
    spatch (benchmarks/spatch/swap_special.cocci): each tool's time and sites, and the sites each
    finds that the other does not.
On the 6.1 tree, inferred contracts: a one-patch series that changes one widely used function's
return contract (fixtures/kernel/filemap-get-folio-errptr.mbox: `__filemap_get_folio()` returns
ERR_PTR() instead of NULL), fully audited (apply, inference, every caller and wrapper caller),
cold and warm, side by side with the same audit under --no-infer (target: < 15 s warm).
With a v5.11 tree and the RFC mbox: the whole `reviewtool audit --tree` (apply 30 patches and
audit all 31 states) next to one whole-tree spatch run on the base, and their ratio.

With --baseline REV, the code of that commit of this repository (exported with `git archive`
into a temporary directory) runs the same measurements side by side, alternating with the
current code run for run, and the ratio current/baseline of the medians is printed: this is
how a change is held to a speed budget on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COCCI = HERE / "spatch" / "swap_special.cocci"

_CHILD = r"""
import json, resource, sys, time
from dataclasses import replace
from pathlib import Path
try:
    from reviewtool.analysis.rules import load_rule
    from reviewtool.analysis.treeaudit import audit_revision
except ImportError:  # a baseline from before the package was grouped by stage
    from reviewtool.rules import load_rule
    from reviewtool.treeaudit import audit_revision
tree, rule_name, cache, assume = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
rule = load_rule(rule_name)
if assume:
    rule = replace(rule, cases={k: replace(c, exists_if=()) for k, c in rule.cases.items()})
start = time.perf_counter()
(audit,) = audit_revision(Path(tree), "HEAD", [rule], Path(cache) if cache != "-" else None)
seconds = time.perf_counter() - start
sites = [
    {"path": s.path, "line": s.line, "function": s.function, "api": s.api,
     "verdict": s.verdict, "from_is_swap_pte": any(
         e.note.startswith("`is_swap_pte(") and e.note.endswith("is true") for e in s.evidence)}
    for s in audit.sites
]
print(json.dumps({"seconds": seconds,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "sites": sites, "files": audit.files,
                  "coverage": [audit.coverage.parsed, audit.coverage.textual]}))
"""


def code_env(code: Path | None) -> dict[str, str]:
    """The environment that runs `code` (a source directory) instead of the installed package."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH", "")]))
    return env


def audit_child(
    tree: Path, rule: str, cache: Path | None, assume_live: bool, code: Path | None = None
) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(tree),
            rule,
            str(cache) if cache else "-",
            "1" if assume_live else "0",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=code_env(code),
        cwd=code,  # `-c` puts the working directory first on sys.path
    ).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def side_by_side(
    label: str, measure: Callable[[Path | None], float], baseline: Path | None, repeat: int
) -> None:
    """Median of `repeat` runs of the current code and, alternating, of the baseline."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(repeat):
        ours.append(measure(None))
        if baseline is not None:
            theirs.append(measure(baseline))
    line = f"  {label}: {statistics.median(ours):.2f} s (median of {repeat})"
    if theirs:
        ratio = statistics.median(ours) / statistics.median(theirs)
        line += f"; baseline {statistics.median(theirs):.2f} s; ratio {ratio:.2f}"
    print(line)


def export(repository: Path, revision: str, directory: Path) -> Path:
    """The files of a commit of this repository, in `directory` (nothing else is touched)."""
    archive = subprocess.run(
        ["git", "-C", str(repository), "archive", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return directory


def spatch(tree: Path, prefiltered: bool = False) -> tuple[float, set[tuple[str, int]]]:
    """One whole-tree spatch run: its own file selection (`--use-gitgrep`), or, prefiltered,
    on the files an outside `git grep` names (the fastest complete way, benchmarks/spatch)."""
    own = [
        "spatch",
        "--sp-file",
        str(COCCI),
        "--dir",
        ".",
        "--include-headers",
        "--no-includes",
        "--use-gitgrep",
        "--very-quiet",
        "--jobs",
        "2",
    ]
    pipeline = (
        "git grep -l -w -e is_swap_pte -- '*.c' '*.h' | xargs -r grep -l -w -e pte_to_swp_entry"
        f" | xargs -r -P 2 -n 6 spatch --sp-file {COCCI} --no-includes --very-quiet"
    )
    start = time.perf_counter()
    if prefiltered:
        result = subprocess.run(
            pipeline, shell=True, cwd=tree, capture_output=True, text=True, check=False
        )
    else:
        result = subprocess.run(own, cwd=tree, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    sites = set()
    for line in result.stdout.splitlines():
        match = re.match(r"SITE (.+?):(\d+):", line)
        if match:
            sites.add((match.group(1).removeprefix("./"), int(match.group(2))))
    return seconds, sites


def section_61(tree: Path, baseline: Path | None = None, repeat: int = 3) -> None:
    print(f"== 6.1 tree: {tree}")
    with tempfile.TemporaryDirectory() as cache:
        cold = audit_child(tree, "pte-marker", Path(cache), False)
        warm = audit_child(tree, "pte-marker", Path(cache), False)
        verdicts: dict[str, int] = {}
        for site in warm["sites"]:
            verdicts[site["verdict"]] = verdicts.get(site["verdict"], 0) + 1
        print(
            f"whole-tree audit, pte-marker rule: {len(warm['sites'])} sites in {warm['files']} "
            f"files ({verdicts}); coverage {warm['coverage'][0]}/{warm['coverage'][1]}"
        )
        print(f"  cold (no cache): {cold['seconds']:.2f} s, peak RSS {cold['rss_mb']:.0f} MB")
        print(
            f"  warm (grep results cached by tree id): {warm['seconds']:.2f} s, "
            f"peak RSS {warm['rss_mb']:.0f} MB (targets: < 2 s warm, < 500 MB)"
        )
        if baseline is not None:
            audit_child(tree, "pte-marker", Path(cache), False, baseline)  # its own warm-up

        def whole(code: Path | None) -> float:
            seconds: float = audit_child(tree, "pte-marker", Path(cache), False, code)["seconds"]
            return seconds

        side_by_side("whole-tree audit, warm, in-process", whole, baseline, repeat)
    ours = audit_child(tree, "uffd-wp-special-swap-pte", None, True)
    flagged = {
        (s["path"], s["line"])
        for s in ours["sites"]
        if s["api"] == "pte_to_swp_entry" and s["verdict"] in ("unhandled", "latent")
    }
    after_test = {
        (s["path"], s["line"])
        for s in ours["sites"]
        if s["api"] == "pte_to_swp_entry"
        and s["verdict"] in ("unhandled", "latent")
        and s["from_is_swap_pte"]
    }
    spatch_seconds, theirs = spatch(tree)
    piped_seconds, _ = spatch(tree, prefiltered=True)
    print("question: is_swap_pte() then pte_to_swp_entry() without a special-pte guard")
    print(
        f"  reviewtool (uffd-wp rule, case b assumed): {ours['seconds']:.2f} s cold, "
        f"{len(flagged)} unguarded pte_to_swp_entry() sites, {len(after_test)} of them "
        "behind an is_swap_pte() test"
    )
    print(
        f"  spatch (own file selection): {spatch_seconds:.2f} s, {len(theirs)} sites; "
        f"prefiltered by git grep: {piped_seconds:.2f} s"
    )
    for label, sites in (
        ("only spatch", theirs - flagged),
        ("only reviewtool, behind is_swap_pte()", after_test - theirs),
        (
            "only reviewtool, other paths (pte_none/pte_present tests)",
            flagged - after_test - theirs,
        ),
    ):
        print(f"  {label}: {len(sites)}")
        for path, line in sorted(sites):
            print(f"    {path}:{line}")


def rfc_audit(tree: Path, series: Path, cache: str, code: Path | None = None, *extra: str) -> float:
    """Wall time of the whole `reviewtool audit --tree` of the series, in a fresh process."""
    return timed_audit(tree, series, cache, code, *extra)[0]


def timed_audit(
    tree: Path, series: Path, cache: str, code: Path | None = None, *extra: str
) -> tuple[float, dict[str, Any]]:
    """Wall time and JSON report of `reviewtool audit --tree` of the series, in a fresh process."""
    env = dict(code_env(code), XDG_CACHE_HOME=cache)
    start = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "reviewtool",
            "audit",
            str(series),
            "--tree",
            str(tree),
            "--format",
            "json",
            "--fail-on",
            "never",
            *extra,
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=code or Path.cwd(),
    ).stdout
    seconds = time.perf_counter() - start
    report: dict[str, Any] = json.loads(out)
    return seconds, report


INFERRED_SERIES = HERE.parent / "fixtures" / "kernel" / "filemap-get-folio-errptr.mbox"


def section_inferred(tree: Path, repeat: int = 3) -> None:
    """The one-patch contract change, fully audited, next to the same audit without inference."""
    print(f"== 6.1 tree, inferred contracts: {INFERRED_SERIES.name}")
    with tempfile.TemporaryDirectory() as cache:
        cold, report = timed_audit(tree, INFERRED_SERIES, cache)
        inferred: list[float] = []
        plain: list[float] = []
        for _ in range(repeat):
            inferred.append(timed_audit(tree, INFERRED_SERIES, cache)[0])
            plain.append(timed_audit(tree, INFERRED_SERIES, cache, None, "--no-infer")[0])
    contracts = report.get("contracts", [])
    sites = [s for c in contracts for s in c["callsites"]]
    unhandled = [s for s in sites if s["verdict"] == "unhandled"]
    wrappers = [w for c in contracts for w in c["wrappers"]]
    warm, without = statistics.median(inferred), statistics.median(plain)
    print(
        f"  {len(contracts)} contract(s), {len(wrappers)} wrapper(s), {len(sites)} call sites, "
        f"{len(unhandled)} unhandled"
    )
    print(
        f"  full audit with inference: cold {cold:.2f} s, warm {warm:.2f} s (median of {repeat}; "
        f"target < 15 s); --no-infer warm {without:.2f} s; ratio {warm / without:.2f}"
    )


def section_rfc(tree: Path, series: Path, baseline: Path | None = None, repeat: int = 3) -> None:
    print(f"== v5.11 tree: {tree}, series {series.name}")
    with tempfile.TemporaryDirectory() as cache:
        times = [rfc_audit(tree, series, cache) for _ in range(2)]
        if baseline is not None:
            rfc_audit(tree, series, cache, baseline)  # warms the shared grep cache
        side_by_side(
            "per-patch audit of the series, warm",
            lambda code: rfc_audit(tree, series, cache, code),
            baseline,
            repeat,
        )
    spatch(tree)  # the audit runs above warmed the page cache; so does this one
    spatch_seconds, sites = spatch(tree)
    piped_seconds, _ = spatch(tree, prefiltered=True)
    print(
        f"reviewtool audit --tree (apply 30 patches, audit 31 states): cold {times[0]:.1f} s, "
        f"warm {times[1]:.1f} s"
    )
    print(
        f"spatch, one whole-tree run on the base: {spatch_seconds:.1f} s ({len(sites)} sites); "
        f"prefiltered by git grep: {piped_seconds:.1f} s"
    )
    print(
        f"ratio: the per-patch audit costs {times[0] / spatch_seconds:.2f} (cold) / "
        f"{times[1] / spatch_seconds:.2f} (warm) whole-tree spatch runs (target: < 3; spatch "
        f"on every state: 31); {times[1] / piped_seconds:.2f} prefiltered runs (warm)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree61", type=Path, default=os.environ.get("REVIEWTOOL_LINUX61_TREE"))
    parser.add_argument("--tree511", type=Path, default=os.environ.get("REVIEWTOOL_V511_TREE"))
    parser.add_argument(
        "--series", type=Path, default=HERE.parent.parent / "shared/series/uffd-wp-rfc-v1.mbox"
    )
    parser.add_argument(
        "--baseline", metavar="REV", help="also run this commit's code side by side (ratios)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per side-by-side figure")
    args = parser.parse_args()
    if not args.tree61 and not args.tree511:
        print(
            "audit.py: give --tree61 and/or --tree511 (or REVIEWTOOL_LINUX61_TREE / "
            "REVIEWTOOL_V511_TREE)",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory() as exported:
        baseline = export(HERE.parent, args.baseline, Path(exported)) if args.baseline else None
        if args.tree61:
            section_61(args.tree61, baseline, args.repeat)
            section_inferred(args.tree61, args.repeat)
        if args.tree511 and args.series.is_file():
            section_rfc(args.tree511, args.series, baseline, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
