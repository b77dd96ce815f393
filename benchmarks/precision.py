#!/usr/bin/env python3
"""How the call-site audit's verdicts fall, by kind of reason, on real trees.

    python3 benchmarks/precision.py --tree61 LINUX_6_1_GIT_TREE [--tree511 V5_11_TREE]
        [--series RFC_MBOX] [--baseline REV]

For every audited tree state it prints how many call sites are unhandled, latent, unknown and
handled, and what each verdict rests on (guard, callee-result, caller, origin, config,
no-case, unparsed):

  * the 6.1 tree as it is, with the pte-marker rule (a released kernel: every marker path is
    handled, so what is flagged there is noise or a latent bug);
  * Debian 6.1 with fixtures/kernel/marker-guards.mbox, a series that breaks four guards (one
    of them through a helper it adds): state 0 is the base, state k the tree after patch k;
  * with a v5.11 tree, the RFC "userfaultfd-wp: Support shmem and hugetlbfs", states 0-30;
  * inferred return contracts on 6.1 (current code only): the two replays of upstream changes
    in fixtures/kernel/ (filemap-get-folio-errptr.mbox, isolate-lru-bool.mbox), per contract
    the call sites by verdict and reason (test, deref, use, switch, returns; tested, used,
    ignored, stored, converted, passes-on) and the functions flagged.

With --baseline REV the same runs are made with the code of that commit (exported with `git
archive`), before the current code's, so the two can be read side by side. Code that predates
reason kinds gets them read off its verdicts' explanations.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"

# Runs in a child process so that --baseline code imports cleanly: audits a tree revision or a
# series and prints, per audited state, each site's verdict, reason and explanation.
_CHILD = r"""
import json, sys
from pathlib import Path
from reviewtool.analysis import callsites
states = []
original = callsites.Auditor.audit
def audit(self, *args, **kwargs):
    result = original(self, *args, **kwargs)
    states.append([(s.verdict, getattr(s, "reason", ""), s.how) for s in result.sites])
    return result
callsites.Auditor.audit = audit
tree, rule, series, cache = sys.argv[1:5]
if series == "-":
    from reviewtool.analysis.treeaudit import audit_revision
    from reviewtool.analysis.rules import load_rule
    audit_revision(Path(tree), "HEAD", [load_rule(rule)], Path(cache))
else:
    from reviewtool.intake.mail import Source
    from reviewtool.review import AuditOptions, run
    from reviewtool.analysis.treeaudit import TreeOptions
    options = TreeOptions(Path(tree), rules=(rule,), cache_dir=Path(cache))
    run([Source(series, Path(series))], AuditOptions(tree=options))
print(json.dumps(states))
"""

VERDICTS = ("unhandled", "latent", "unknown", "handled")


def reason_from_how(verdict: str, how: str) -> str:
    """The kind of reason of a verdict from code that did not name it."""
    if how.startswith("not analysed"):
        return "unparsed"
    if verdict == "unknown" or "no caller" in how or "every caller" in how or " from " in how:
        return "caller"
    if "passes this test" in how or "excluded by" in how or "cannot reach" in how:
        return "guard"
    if "does not exist" in how or "no forbidden use follows" in how:
        return "no-case"
    if "comes from" in how or "not read from" in how or "unguarded" in how:
        return "origin"
    return "?"


def states(tree: Path, rule: str, series: str, cache: str, code: Path | None) -> list[Any]:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tree), rule, series, cache],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=code or HERE.parent,  # `-c` puts the working directory first on sys.path
    ).stdout
    data: list[Any] = json.loads(out)
    return data


def row(sites: list[list[str]]) -> str:
    counts: Counter[tuple[str, str]] = Counter()
    for verdict, reason, how in sites:
        counts[(verdict, reason or reason_from_how(verdict, how))] += 1
    cells = []
    for verdict in VERDICTS:
        total = sum(n for (v, _), n in counts.items() if v == verdict)
        kinds = ", ".join(
            f"{r} {n}" for (v, r), n in sorted(counts.items(), key=lambda i: -i[1]) if v == verdict
        )
        cells.append(f"{verdict} {total}" + (f" ({kinds})" if kinds and total else ""))
    return "; ".join(cells)


def report(label: str, runs: dict[str, list[Any]]) -> None:
    print(f"== {label}")
    for name, audited in runs.items():
        print(f"  {name}:")
        for number, sites in enumerate(audited):
            print(f"    state {number:>2}: {row(sites)}")


def inferred(tree: Path, series: Path, cache: str) -> None:
    """The inferred contracts of a series on tree: call sites by verdict and reason."""
    out = subprocess.run(
        [sys.executable, "-m", "reviewtool", "audit", str(series), "--tree", str(tree),
         "--format", "json", "--fail-on", "never"],
        check=True, capture_output=True, env=dict(os.environ, XDG_CACHE_HOME=cache),
    ).stdout  # fmt: skip
    report_data = json.loads(out)
    print(f"== 6.1 with fixtures/kernel/{series.name}, inferred contracts")
    for contract in report_data.get("contracts", []):
        sites = contract["callsites"]
        kinds = Counter(f"{s['verdict']}/{s['reason']}" for s in sites)
        flagged = sorted({s["function"] for s in sites if s["verdict"] == "unhandled"})
        shown = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        print(f"  patch {contract['patch']}: {contract['change']}")
        print(f"    {len(sites)} call sites: {shown}")
        print(f"    {len(flagged)} functions flagged: {', '.join(flagged)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree61", type=Path, default=os.environ.get("REVIEWTOOL_LINUX61_TREE"))
    parser.add_argument("--tree511", type=Path, default=os.environ.get("REVIEWTOOL_V511_TREE"))
    parser.add_argument(
        "--series", type=Path, default=HERE.parent.parent / "shared/series/uffd-wp-rfc-v1.mbox"
    )
    parser.add_argument("--baseline", metavar="REV", help="also run this commit's code first")
    args = parser.parse_args()
    if not args.tree61 and not args.tree511:
        print("precision.py: give --tree61 and/or --tree511", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as work:
        codes: dict[str, Path | None] = {}
        if args.baseline:
            exported = Path(work) / "baseline"
            exported.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(HERE.parent), "archive", args.baseline],
                check=True,
                capture_output=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(exported)], input=archive, check=True)
            codes[f"baseline {args.baseline}"] = exported
        codes["current"] = None
        cache = str(Path(work) / "cache")
        if args.tree61:
            report(
                f"6.1 tree-wide, pte-marker: {args.tree61}",
                {n: states(args.tree61, "pte-marker", "-", cache, c) for n, c in codes.items()},
            )
            guards = str(FIXTURES / "kernel" / "marker-guards.mbox")
            report(
                "6.1 with fixtures/kernel/marker-guards.mbox, pte-marker",
                {n: states(args.tree61, "pte-marker", guards, cache, c) for n, c in codes.items()},
            )
        if args.tree61:
            for name in ("filemap-get-folio-errptr.mbox", "isolate-lru-bool.mbox"):
                inferred(args.tree61, FIXTURES / "kernel" / name, cache)
        if args.tree511 and args.series.is_file():
            report(
                f"v5.11 with {args.series.name}, uffd-wp-special-swap-pte",
                {
                    n: states(args.tree511, "uffd-wp-special-swap-pte", str(args.series), cache, c)
                    for n, c in codes.items()
                },
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
