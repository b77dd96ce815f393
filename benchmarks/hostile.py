#!/usr/bin/env python3
"""What hostile or huge input costs a bot: time, peak memory and report size, side by side.

    python3 benchmarks/hostile.py [--files N] [--runs N]

Runs the CLI in a fresh process for each case and prints wall time (median of --runs), the
child's peak RSS and the size of what it wrote:
- a well-formed 3-patch series (the bundled demo), the baseline;
- one patch creating N files (default 10,000) with a whitespace error in each, rendered as
  text, Markdown (one PR comment) and an email reply: bounded by the per-rule cap;
- a 100 MB input, which must be refused before it is read;
- the same 10,000-file patch checked alone by `check-patch` (b4's per-patch command);
- the 30-patch RFC (from --series, when present) with one `References:` header of 50,000
  ids next to the same RFC without it, run alternately, and the difference of the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo" / "demo.mbox"


def huge_patch(files: int) -> bytes:
    """One mail whose diff creates `files` files, each with an added line ending in a blank."""
    diffs = []
    for number in range(files):
        path = f"drivers/gen/f{number:05d}.c"
        diffs.append(
            f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
            f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,2 @@\n+int f{number};  \n+/* end */\n"
        )
    body = (
        "From: Ann Author <ann@example.org>\nTo: list@example.org\n"
        "Subject: [PATCH] gen: add many files\nDate: Mon, 10 Mar 2025 08:35:12 +0000\n"
        "Message-Id: <huge-1@example.org>\n\nAdd them.\n\n"
        "Signed-off-by: Ann Author <ann@example.org>\n---\n" + "".join(diffs) + "-- \n2.39.5\n"
    )
    return b"From ann@example.org Mon Mar 10 08:35:12 2025\n" + body.encode()


def run_child(arguments: list[str], stdin: bytes | None = None) -> tuple[float, int, int, int]:
    """(seconds, exit code, bytes written to stdout, the child's own peak RSS in MB)."""
    with tempfile.TemporaryFile() as given, tempfile.TemporaryFile() as written:
        given.write(stdin or b"")
        given.seek(0)
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "reviewtool", *arguments],
            stdin=given,
            stdout=written,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        size = written.tell()
    return seconds, child.returncode, size, usage.ru_maxrss // 1024


def measure(label: str, arguments: list[str], runs: int, stdin: bytes | None = None) -> None:
    results = [run_child(arguments, stdin) for _ in range(runs)]
    seconds = statistics.median(r[0] for r in results)
    _, code, size, peak = results[-1]
    print(f"  {label:<46} {seconds:7.2f} s  exit {code:>3}  {size:>9,} B out  {peak:>4} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--series",
        type=Path,
        default=ROOT.parent / "shared" / "series",
        help="directory holding uffd-wp-rfc-v1.mbox",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reviewtool-bench-") as scratch:
        directory = Path(scratch)
        huge = directory / "huge.mbox"
        huge.write_bytes(huge_patch(args.files))
        big = directory / "big.mbox"
        with big.open("wb") as handle:
            handle.truncate(100 * 1024 * 1024)
        print(f"hostile input ({args.files:,}-file patch: {huge.stat().st_size / 1e6:.1f} MB)")
        email = ["--email-from", "Bot <bot@example.org>"]
        measure("demo series, text (baseline)", ["audit", str(DEMO)], args.runs)
        for name in ("text", "markdown", "json"):
            measure(
                f"{args.files:,}-file patch, {name}", ["audit", str(huge), "-f", name], args.runs
            )
        measure(
            f"{args.files:,}-file patch, email",
            ["audit", str(huge), "-f", "email", *email],
            args.runs,
        )
        measure(
            f"{args.files:,}-file patch, check-patch (terse)",
            ["check-patch", "-"],
            args.runs,
            stdin=huge.read_bytes(),
        )
        measure("100 MB input (refused before reading)", ["audit", str(big)], args.runs)
        rfc = args.series / "uffd-wp-rfc-v1.mbox"
        if rfc.is_file():
            references(rfc, directory, args.runs)
        else:
            print(f"  (no {rfc}: the References case is skipped)")
    return 0


def with_references(mbox: bytes, count: int) -> bytes:
    """The mbox with a References: header of count ids added to its second message."""
    ids = " ".join(f"<ref-{n}@example.org>" for n in range(count))
    messages = mbox.split(b"\nFrom ")
    head, sep, body = messages[1].partition(b"\n\n")
    messages[1] = head + b"\nReferences: " + ids.encode() + sep + body
    return b"\nFrom ".join(messages)


def references(rfc: Path, directory: Path, runs: int) -> None:
    """The RFC with and without a 50,000-id References header, alternately, side by side."""
    plain = directory / "rfc.mbox"
    plain.write_bytes(rfc.read_bytes())
    hostile = directory / "rfc-references.mbox"
    hostile.write_bytes(with_references(plain.read_bytes(), 50_000))
    times: dict[Path, list[float]] = {plain: [], hostile: []}
    codes: dict[Path, int] = {}
    for _ in range(max(runs, 5)):
        for path in (plain, hostile):
            seconds, codes[path], _, _ = run_child(["audit", str(path), "-f", "json"])
            times[path].append(seconds)
    base, more = statistics.median(times[plain]), statistics.median(times[hostile])
    label = "RFC, 30 patches, json (baseline for below)"
    print(f"  {label:<46} {base:7.2f} s  exit {codes[plain]:>3}")
    print(
        f"  {'RFC + one 50,000-id References header':<46} {more:7.2f} s  exit {codes[hostile]:>3}"
        f"  ({more - base:+.2f} s, x{more / base:.2f})"
    )


if __name__ == "__main__":
    sys.exit(main())
