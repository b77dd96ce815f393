#!/usr/bin/env python3
"""Parse-and-report time on a real series, and the CLI's cold start.

    python3 benchmarks/parse.py [SERIES.mbox] [--runs N]

Prints the median in-process time to read, parse and check the series and build its JSON
report (target: under 50 ms), and the median wall time of `reviewtool --help` in a fresh
interpreter (target: under 0.3 s), with `python3 -c pass` beside it as the floor.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared/series/uffd-wp-rfc-v1.mbox"


def _parse_once(path: Path) -> float:
    from reviewtool.intake.mail import Source
    from reviewtool.render import render
    from reviewtool.review import AuditOptions, run

    start = time.perf_counter()
    report = run([Source(str(path), path)], AuditOptions())
    render(report, "json")
    return time.perf_counter() - start


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if not args.series.is_file():
        print(f"parse.py: {args.series}: no such file", file=sys.stderr)
        return 2
    _parse_once(args.series)  # warm imports, as a long-running bot would be
    parse = statistics.median(_parse_once(args.series) for _ in range(args.runs))
    help_cmd = [sys.executable, "-m", "reviewtool", "--help"]
    floor_cmd = [sys.executable, "-c", "pass"]
    pairs = [(_wall(help_cmd), _wall(floor_cmd)) for _ in range(args.runs)]
    cold = statistics.median(p[0] for p in pairs)
    floor = statistics.median(p[1] for p in pairs)
    print(f"series: {args.series.name} ({args.series.stat().st_size} bytes)")
    print(f"parse+check+json, median of {args.runs}: {parse * 1000:.1f} ms (target < 50 ms)")
    print(
        f"reviewtool --help cold start, median of {args.runs}: {cold * 1000:.0f} ms"
        f" (target < 300 ms); python3 -c pass: {floor * 1000:.0f} ms;"
        f" ratio {cold / floor:.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
