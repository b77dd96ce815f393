#!/usr/bin/env python3
"""A seeded mutation campaign against every command, classified run by run.

    python3 benchmarks/fuzz.py [--cases N] [--seed S] [--jobs J] [--series DIR]

Each case mutates an input (the fixtures, and the public series in ../shared/series when they
are there) in one class of ways, runs one `reviewtool` command on it in a fresh process and
classifies the run:
- the exit code (0, 1, 2, 124 and 130 are documented; 4 is a bug);
- stderr: one line for an error (`reviewtool: error: ...`, and `Try ...` after a usage error),
  no Python traceback, no raw control or bidi character (ESC, BEL, U+202E);
- stdout: empty on an error; for `check-patch --format b4-check`, JSON whatever the input;
- wall time (past 10 s is a finding) and the peak RSS of the reviewtool process (500 MB);
- the kernel-like tree it was given is unchanged (HEAD, refs, index, worktree, stash) and the
  temporary directory it ran with is empty afterwards.
It prints a table by class and the failing cases (command and input, to reproduce), and exits
1 when any case broke one of these rules. CI runs a short campaign; a long one is opt-in.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = ROOT / "fixtures"
DOCUMENTED = {0, 1, 2, 124, 130}
TIME_LIMIT = 10.0
RSS_LIMIT_MB = 500.0
RAW = re.compile("[\x1b\x07\u202e\u2066\u2067\u2068\u2069]")
FORMATS = ["text", "json", "markdown", "sarif", "codequality", "email"]
CHARSETS = [
    "utf-8",
    "latin-1",
    "undefined",
    "idna",
    "rot13",
    "base64",
    "utf-16",
    "x-unknown",
    "punycode",
    "uu",
    "koi8-r",
    "",
    "utf-8'",
]
NASTY = [
    b"\x00",
    b"\x1b]0;pwn\x07",
    b"\x1b[2J",
    b"\xe2\x80\xae",
    b"\xff\xfe",
    b"\r",
    b"\n\n",
    b"\nFrom x Mon Sep 17 00:00:00 2001\n",
    b"=?undefined?q?x?=",
    b"\t",
    b"\\",
    b'"',
]


@dataclasses.dataclass
class Case:
    kind: str
    args: list[str]
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    interrupt_after: float | None = None
    expect_json: bool = False
    rule_file: str = ""
    rule_key: str = ""  # the key a rule error must name, when the mutation is of one key


@dataclasses.dataclass
class Outcome:
    case: Case
    code: int
    seconds: float
    rss_mb: float
    problems: list[str]
    stderr: bytes = b""


class Corpus:
    """The inputs the mutations start from."""

    def __init__(self, series_dir: Path | None) -> None:
        paths = sorted((FIXTURES / "series").glob("*.mbox"))
        paths += sorted((FIXTURES / "broken").glob("*.mbox"))
        paths += [FIXTURES / "demo" / "demo.mbox", *sorted((FIXTURES / "kernel").glob("*.mbox"))]
        if series_dir is not None and series_dir.is_dir():
            paths += sorted(series_dir.glob("*.mbox"))
        self.mboxes = [p.read_bytes() for p in paths if p.is_file()]
        self.messages = [m for data in self.mboxes for m in split(data) if b"\n\n" in m]
        # the rules extend kernel-common.toml, which each case puts next to them
        self.rules = [
            re.sub(rb"(?m)^extends = .*$", b'extends = ["kernel-common.toml"]', path.read_bytes())
            for path in (
                FIXTURES / "demo" / "pte-demo.toml",
                ROOT / "queries" / "rules" / "pte-marker.toml",
            )
        ]
        self.common = (ROOT / "queries" / "rules" / "kernel-common.toml").read_bytes()


def split(data: bytes) -> list[bytes]:
    parts = re.split(rb"(?m)^(?=From \S+ )", data)
    return [p for p in parts if p.strip()]


# -- mutations --------------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes, rounds: int = 4) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, rounds)):
        if not buffer:
            buffer += rng.choice(NASTY)
            continue
        at = rng.randrange(len(buffer))
        action = rng.randrange(6)
        if action == 0:
            buffer[at] = rng.randrange(256)
        elif action == 1:
            del buffer[at : at + rng.randint(1, 200)]
        elif action == 2:
            end = min(len(buffer), at + rng.randint(1, 400))
            buffer[at:at] = buffer[at:end] * rng.randint(1, 5)
        elif action == 3:
            buffer[at:at] = rng.choice(NASTY)
        elif action == 4:
            del buffer[at:]
        else:
            buffer[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 30)))
    return bytes(buffer)


def with_header(message: bytes, name: str, value: bytes) -> bytes:
    head, sep, body = message.partition(b"\n\n")
    return head + b"\n" + name.encode() + b": " + value + sep + body


def mutate_headers(rng: random.Random, message: bytes) -> bytes:
    choice = rng.randrange(7)
    if choice == 0:
        count = rng.choice([10, 1000, 10_000, 50_000])
        ids = b" ".join(b"<%d.%d@fuzz>" % (rng.randrange(10**6), i) for i in range(count))
        return with_header(message, "References", ids)
    if choice == 1:
        return with_header(message, "In-Reply-To", b"<loop@fuzz>").replace(
            b"Message-Id:", b"Message-Id: <loop@fuzz>\nX-Old-Message-Id:", 1
        )
    if choice == 2:
        counter = rng.choice([b"99999999999999999999/3", b"0/0", b"7/5", b"-1/2", b"3/", b"/"])
        return re.sub(
            rb"(?m)^Subject:.*$",
            b"Subject: [PATCH v9999999999 " + counter + b"] x",
            message,
            count=1,
        )
    if choice == 3:
        charset = rng.choice(CHARSETS).encode() or b"x"
        word = b"=?" + charset + b"?" + rng.choice([b"q", b"b", b"z"]) + b"?=E9=00=1B?="
        return re.sub(rb"(?m)^Subject:", b"Subject: " + word, message, count=1)
    if choice == 4:
        return re.sub(rb"(?m)^From:.*$", b"From: \x1b]0;x\x07 \xe2\x80\xae <a@b>", message, count=1)
    if choice == 5:
        return re.sub(
            rb"(?m)^Date:.*$",
            rng.choice([b"Date: tomorrow", b"Date: Mon, 99 Foo 99999"]),
            message,
            count=1,
        )
    return with_header(
        message, "Content-Type", b"text/plain; charset=" + rng.choice(CHARSETS).encode()
    )


def mime_message(rng: random.Random, body: bytes) -> bytes:
    depth = rng.choice([0, 1, 3, 15, 17, 40, 500, 2000])
    charset = rng.choice(CHARSETS).encode()
    encoding = rng.choice([b"8bit", b"base64", b"quoted-printable", b"7bit", b"x-weird"])
    part = b"Content-Type: text/plain; charset=" + charset + b"\nContent-Transfer-Encoding: "
    part += encoding + b"\n\n" + body
    for level in range(depth):
        boundary = b"b%d" % level
        closing = b"\n--" + boundary + b"--\n" if rng.random() > 0.1 else b""
        part = (
            b'Content-Type: multipart/mixed; boundary="'
            + boundary
            + b'"\n\n--'
            + boundary
            + b"\n"
            + part
            + closing
        )
    head = b"From fuzz Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\n"
    head += b"Subject: [PATCH] mm: fuzz\nMessage-Id: <m%d@fuzz>\nMIME-Version: 1.0\n" % depth
    return head + part


def mutate_diff(rng: random.Random, message: bytes) -> bytes:
    choice = rng.randrange(5)
    if choice == 0:
        return re.sub(
            rb"@@ -\d+(,\d+)? \+\d+(,\d+)? @@",
            lambda m: (
                b"@@ -%d,%d +%d,%d @@" % tuple(rng.choice([0, 1, 7, 10**20]) for _ in range(4))
            ),
            message,
            count=rng.randint(1, 3),
        )
    if choice == 1:
        path = rng.choice(
            [
                b"../../etc/passwd",
                b"/abs/path.c",
                b".git/config",
                b"a\x1b[2Jb.c",
                b"mm/\xe2\x80\xaeevil.c",
                b'"quoted name".c',
                b"sp ace.c",
            ]
        )
        return re.sub(
            rb"(?m)^(--- a/|\+\+\+ b/|diff --git a/)(\S+)",
            lambda m: m.group(1) + path,
            message,
            count=rng.randint(1, 4),
        )
    if choice == 2:
        lines = message.split(b"\n")
        for _ in range(rng.randint(1, 5)):
            if lines:
                del lines[rng.randrange(len(lines))]
        return b"\n".join(lines)
    if choice == 3:
        return message.replace(b"\n+", b"\n+\x1b]8;;http://x\x07", 1)
    return message + b"\nGIT binary patch\nliteral 5\nzcmZ?wbh\x00\n\n"


def mutate_rule(rng: random.Random, rule: bytes) -> tuple[bytes, str]:
    """The rule file with one mutation, and the key an error about it must name ('' where
    the file stops being TOML: then the error names the file and the line)."""
    text = rule.decode("utf-8", "replace")
    choice = rng.randrange(16)
    values = [
        "inf",
        "nan",
        "-1",
        "1e9",
        "true",
        '"x"',
        "[]",
        "[[[[1]]]]",
        "{}",
        "1979-05-27",
        '"a\\u0000b"',
        "[1, 2]",
        '["ok", 3]',
        "99999999999999999999",
    ]
    if choice == 0:
        return b"\xff\xfe" + rule, ""
    if choice == 1:
        return ("x = " + "[" * 2000 + "]" * 2000 + "\n").encode() + rule, ""
    if choice == 2:  # a value of another type where a key is
        keys = re.findall(r"(?m)^(\w+) = ", text)
        key = rng.choice(keys) if keys else ""
        if key:
            line = f"{key} = {rng.choice(values)}"
            text = re.sub(rf"(?m)^{key} = .*$", lambda _: line, text, count=1)
        return text.encode(), key
    if choice == 3:
        match = re.search(r"(?m)^(\s*(\w+)\s*=\s*)\d+", text)
        if match is None:
            return text.encode(), ""
        edited = text[: match.start()] + match.group(1) + rng.choice(values) + text[match.end() :]
        return edited.encode(), match.group(2)
    if choice == 4:
        return ('watch = "name"\n' + re.sub(r"(?m)^watch = .*$", "", text)).encode(), "watch"
    if choice == 5:
        return ("frobnicate = 1\n" + text).encode(), "frobnicate"
    if choice == 6:
        return re.sub(
            r"(?m)^extends = .*$", 'extends = ["fuzz-rule.toml"]', text
        ).encode(), "extends"
    if choice == 7:
        return re.sub(r"(?m)^extends = .*$", 'extends = ["/dev/zero"]', text).encode(), "extends"
    if choice == 8:
        return re.sub(r"(?m)^extends = .*$", "extends = [3]", text).encode(), "extends"
    if choice == 9:
        names = ", ".join(f'"n{i}"' for i in range(rng.choice([10, 999, 1001, 100_000])))
        return re.sub(r"(?m)^watch = \[", f"watch = [{names}, ", text, count=1).encode(), "watch"
    if choice == 10:
        return text[: rng.randrange(max(1, len(text)))].encode(), ""
    if choice == 11:
        return re.sub(r"(?m)^\[cases\.\w+\]", "cases = []", text, count=1).encode(), "cases"
    if choice == 12:
        return re.sub(r"argument = \d+", "argument = -3", text).encode(), "argument"
    if choice == 13:
        return re.sub(r"(?m)^extends = .*$", 'extends = ["/tmp"]', text).encode(), "extends"
    if choice == 14:
        return mutate_bytes(rng, rule, 3), ""
    return re.sub(r'"(\w+)"', lambda m: '"' + m.group(1) + ' x"', text, count=2).encode(), ""


# -- cases ------------------------------------------------------------------------------------


KINDS = ("mbox-bytes", "headers", "mime", "diff", "check-patch", "rules", "options", "tree",
         "timeout", "sigint")  # fmt: skip


def make_case(rng: random.Random, corpus: Corpus, tree: Path, kinds: Sequence[str] = KINDS) -> Case:
    kind = rng.choice(list(kinds))
    fmt = rng.choice(FORMATS)
    base = ["audit", "input.mbox", "--format", fmt, "--fail-on", rng.choice(["error", "never"])]
    if rng.random() < 0.5:
        base.append("-k")
    if kind == "mbox-bytes":
        return Case(kind, base, {"input.mbox": mutate_bytes(rng, rng.choice(corpus.mboxes))})
    if kind == "headers":
        data = rng.choice(corpus.mboxes)
        messages = split(data) or [data]
        index = rng.randrange(len(messages))
        messages[index] = mutate_headers(rng, messages[index])
        return Case(kind, base, {"input.mbox": b"\n".join(messages)})
    if kind == "mime":
        body = rng.choice(corpus.messages).partition(b"\n\n")[2]
        return Case(kind, base, {"input.mbox": mime_message(rng, body)})
    if kind == "diff":
        data = rng.choice(corpus.mboxes)
        return Case(kind, base, {"input.mbox": mutate_diff(rng, data)})
    if kind == "check-patch":
        message = rng.choice(corpus.messages)
        mutations: list[Callable[[random.Random, bytes], bytes]] = [
            mutate_bytes,
            mime_message,
            mutate_diff,
            mutate_headers,
        ]
        message = rng.choice(mutations)(rng, message)
        form = rng.choice(["b4-check", "terse"])
        return Case(
            kind,
            ["check-patch", "--format", form, "input.eml"],
            {"input.eml": message},
            expect_json=form == "b4-check",
        )
    if kind == "rules":
        rule = rng.choice(corpus.rules)
        mutated, key = mutate_rule(rng, rule)
        files = {"fuzz-rule.toml": mutated, "kernel-common.toml": corpus.common}
        return Case(
            kind,
            [
                "audit",
                str(FIXTURES / "demo" / "demo.mbox"),
                "--tree",
                str(tree),
                "--rule",
                "fuzz-rule.toml",
                "--format",
                "json",
                "--fail-on",
                "never",
            ],
            files,
            rule_file="fuzz-rule.toml",
            rule_key=key,
        )
    if kind == "options":
        option, values = rng.choice(
            [
                ("--timeout", ["inf", "nan", "1e309", "-0", "1e-9", "", "abc", "0x10", "1_000"]),
                ("--max-input-size", ["", "1e400", "inf", "-1", "12X", "9" * 400, "0", "1K", "  "]),
                ("--format", ["", "JSON", "sarif\x1b", "x" * 5000]),
                ("--fail-on", ["", "warn", "Error"]),
                ("--revision", ["0", "-1", "99999999999999999999999", "v2", "1.5"]),
                ("--jobs", ["0", "-2", "1e3", "999999999999"]),
                ("--work-dir", ["/dev/null", "/nonexistent/x", "", "input.mbox"]),
                ("--cache-dir", ["/dev/null", ""]),
            ]
        )
        args = ["audit", str(FIXTURES / "demo" / "demo.mbox"), option, rng.choice(values)]
        if option in ("--jobs", "--cache-dir"):
            args[2:2] = ["--tree", str(tree)]
        return Case(kind, args)
    if kind == "tree":
        data = rng.choice(
            [
                (FIXTURES / "demo" / "demo.mbox").read_bytes(),
                mutate_bytes(rng, (FIXTURES / "demo" / "demo.mbox").read_bytes(), 2),
                mutate_diff(rng, (FIXTURES / "demo" / "demo.mbox").read_bytes()),
            ]
        )
        args = [
            "audit",
            "input.mbox",
            "--tree",
            str(tree),
            "--format",
            fmt,
            "--fail-on",
            "never",
            "--rule",
            str(FIXTURES / "demo" / "pte-demo.toml"),
        ]
        if rng.random() < 0.3:
            args.append("--no-infer")
        return Case(kind, args, {"input.mbox": data})
    if kind == "timeout":
        data = rng.choice(corpus.mboxes)
        return Case(
            kind,
            [
                "audit",
                "input.mbox",
                "--tree",
                str(tree),
                "--timeout",
                rng.choice(["0.001", "0.05", "0.3"]),
                "--format",
                "json",
            ],
            {"input.mbox": data},
        )
    data = (FIXTURES / "demo" / "demo.mbox").read_bytes()
    return Case(
        kind,
        [
            "audit",
            "input.mbox",
            "--tree",
            str(tree),
            "--format",
            "json",
            "--rule",
            str(FIXTURES / "demo" / "pte-demo.toml"),
        ],
        {"input.mbox": data},
        interrupt_after=rng.uniform(0.0, 1.2),
    )


# -- running ----------------------------------------------------------------------------------


def tree_state(tree: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tree), *args], capture_output=True, text=True, check=False
        ).stdout

    return "\0".join(
        (
            git("rev-parse", "HEAD"),
            git("for-each-ref"),
            git("status", "--porcelain"),
            git("stash", "list"),
            git("worktree", "list", "--porcelain"),
        )
    )


# runs reviewtool as its installed console script does (`from reviewtool.cli import main;
# sys.exit(main())`) and leaves its own peak RSS in $FUZZ_RSS. $FUZZ_READY appears once the
# entry point is imported: a Ctrl-C before that lands in the interpreter's own start-up,
# which no program can catch; from there on it is reviewtool's to handle.
_WRAPPER = """
import atexit, os, resource, sys
def _peak():
    with open(os.environ["FUZZ_RSS"], "w") as out:
        out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
atexit.register(_peak)
sys.argv[0] = "reviewtool"
from reviewtool.cli import main
open(os.environ["FUZZ_READY"], "w").close()
sys.exit(main())
"""


def run_case(case: Case, tree: Path) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="fuzz-case-") as work:
        workdir = Path(work)
        temp = workdir / "tmp"
        temp.mkdir()
        for name, data in case.files.items():
            (workdir / name).write_bytes(data)
        env = dict(
            os.environ,
            TMPDIR=str(temp),
            XDG_CACHE_HOME=str(workdir / "cache"),
            PYTHONPATH=str(ROOT),
            FUZZ_RSS=str(workdir / "rss"),
            FUZZ_READY=str(workdir / "ready"),
        )
        env.pop("REVIEWTOOL_DEBUG", None)
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", _WRAPPER, *case.args],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        timer = None
        if case.interrupt_after is not None:
            # Ctrl-C once the interpreter runs reviewtool (before that, Python's own startup
            # is what a Ctrl-C interrupts), after the case's delay
            timer = threading.Thread(
                target=_interrupt, args=(process, workdir / "ready", case.interrupt_after)
            )
            timer.start()
        killer = threading.Timer(TIME_LIMIT * 6, process.kill)
        killer.start()
        out, err = process.communicate()
        seconds = time.perf_counter() - start
        killer.cancel()
        if timer is not None:
            timer.join()
        try:
            rss = int((workdir / "rss").read_text()) / 1024
        except (OSError, ValueError):
            rss = 0.0
        problems = classify(case, process.returncode, out, err, seconds, rss)
        left = [p.name for p in temp.iterdir()]
        if left:
            problems.append(f"temp dir not clean: {left[:3]}")
        return Outcome(case, process.returncode, seconds, rss, problems, err[-20000:])


def _interrupt(process: subprocess.Popen[bytes], ready: Path, delay: float) -> None:
    while not ready.exists() and process.poll() is None:
        time.sleep(0.005)
    time.sleep(delay)
    if process.poll() is None:
        process.send_signal(signal.SIGINT)


def classify(
    case: Case, code: int, out: bytes, err: bytes, seconds: float, rss: float
) -> list[str]:
    problems = []
    text = err.decode("utf-8", "replace")
    # killed by the SIGINT itself: it came while the interpreter tore down after reviewtool
    # had returned (the handlers are the default again by then; a Ctrl-C that interrupted
    # reviewtool's own code shows as a traceback, below). Shells report that as 130 too.
    interrupted_by_signal = code == -signal.SIGINT and case.interrupt_after is not None
    if code not in DOCUMENTED and not interrupted_by_signal:
        problems.append(f"exit {code}")
    if "Traceback" in text:
        problems.append("traceback on stderr")
    if RAW.search(text):
        problems.append("raw control or bidi character on stderr")
    if seconds > TIME_LIMIT and case.kind != "sigint":
        problems.append(f"took {seconds:.1f} s")
    if rss > RSS_LIMIT_MB:
        problems.append(f"peak RSS {rss:.0f} MB")
    lines = [line for line in text.splitlines() if line.strip()]
    if code == 2:
        errors = [line for line in lines if line.startswith("reviewtool: error:")]
        others = [line for line in lines if not line.startswith(("reviewtool: error:", "Try '"))]
        if len(errors) != 1 or others:
            problems.append(f"exit 2 without exactly one error line: {lines[:3]}")
        if out and not case.expect_json:
            problems.append("stdout carries output on an error")
        if case.rule_file and errors and case.rule_file not in errors[0]:
            problems.append(f"rule error does not name the file: {errors[0][:120]}")
        if case.rule_key and errors and case.rule_key not in errors[0]:
            problems.append(f"rule error does not name {case.rule_key}: {errors[0][:120]}")
    if code == 130 and "reviewtool: interrupted" not in text:
        problems.append("interrupted without saying so")
    if case.expect_json and code != 4:
        try:
            json.loads(out)
        except ValueError:
            problems.append("b4-check printed no JSON")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--series", type=Path, default=ROOT.parent / "shared" / "series")
    parser.add_argument("--show", type=int, default=10, help="failing cases to print")
    parser.add_argument(
        "--kinds",
        type=lambda text: [k for k in text.split(",") if k],
        default=list(KINDS),
        help=f"comma-separated classes to run (default all: {','.join(KINDS)})",
    )
    parser.add_argument(
        "--save", type=Path, help="write each failing case's inputs and command line here"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.kinds) - set(KINDS))
    if unknown or not args.kinds:
        parser.error(f"--kinds: unknown class {unknown[0] if unknown else '(none)'}")
    corpus = Corpus(args.series)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="fuzz-tree-") as trees:
        tree = Path(trees) / "demo-tree"
        subprocess.run(
            ["git", "clone", "-q", str(FIXTURES / "tree" / "demo-tree.bundle"), str(tree)],
            check=True,
        )
        before = tree_state(tree)
        cases = [make_case(rng, corpus, tree, args.kinds) for _ in range(args.cases)]
        started = time.perf_counter()
        outcomes: list[Outcome] = []
        changed: list[str] = []

        def one(case: Case) -> Outcome:
            outcome = run_case(case, tree)
            now = tree_state(tree)
            if now != before:
                outcome.problems.append("the tree changed")
                changed.append(case.kind)
            return outcome

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = list(pool.map(one, cases))
        elapsed = time.perf_counter() - started
    report(outcomes, elapsed, args)
    if args.save is not None:
        save(outcomes, args.save)
    return 1 if any(o.problems for o in outcomes) else 0


def save(outcomes: list[Outcome], directory: Path) -> None:
    """Each failing case in a directory of its own: its input files, `command` (the command
    line and what was wrong) and `stderr` (its last 20,000 bytes)."""
    for number, outcome in enumerate(outcomes):
        if not outcome.problems:
            continue
        case_dir = directory / f"{number:05d}-{outcome.case.kind}"
        case_dir.mkdir(parents=True, exist_ok=True)
        for name, data in outcome.case.files.items():
            (case_dir / name).write_bytes(data)
        command = " ".join(["reviewtool", *outcome.case.args])
        (case_dir / "command").write_text(f"{command}\n{'; '.join(outcome.problems)}\n")
        (case_dir / "stderr").write_bytes(outcome.stderr)


def report(outcomes: list[Outcome], elapsed: float, args: argparse.Namespace) -> None:
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.case.kind].append(outcome)
    print(
        f"fuzz campaign: {len(outcomes)} cases, seed {args.seed}, {elapsed:.0f} s on "
        f"{args.jobs} jobs"
    )
    header = (
        f"{'class':<12} {'runs':>5}  {'exit codes':<34} {'exit 4':>6} {'trace':>5} "
        f"{'>10 s':>5} {'max s':>6} {'max MB':>7} {'broken':>6}"
    )
    print(header)
    total: Counter[str] = Counter()
    for kind in sorted(by_kind):
        group = by_kind[kind]
        codes = Counter(o.code for o in group)
        shown = " ".join(f"{c}:{n}" for c, n in sorted(codes.items()))
        exit4 = codes.get(4, 0)
        traces = sum("traceback on stderr" in o.problems for o in group)
        slow = sum(any(p.startswith("took") for p in o.problems) for o in group)
        broken = sum(bool(o.problems) for o in group)
        total.update(runs=len(group), exit4=exit4, traces=traces, slow=slow, broken=broken)
        print(
            f"{kind:<12} {len(group):>5}  {shown:<34} {exit4:>6} {traces:>5} {slow:>5} "
            f"{max(o.seconds for o in group):>6.1f} {max(o.rss_mb for o in group):>7.0f} "
            f"{broken:>6}"
        )
    print(
        f"{'all':<12} {total['runs']:>5}  {'':<34} {total['exit4']:>6} {total['traces']:>5} "
        f"{total['slow']:>5} {max(o.seconds for o in outcomes):>6.1f} "
        f"{max(o.rss_mb for o in outcomes):>7.0f} {total['broken']:>6}"
    )
    failing = [o for o in outcomes if o.problems]
    for outcome in failing[: args.show]:
        print(f"- {outcome.case.kind}: {' '.join(outcome.case.args)[:160]}")
        print(f"  exit {outcome.code}, {outcome.seconds:.1f} s: {'; '.join(outcome.problems)}")


if __name__ == "__main__":
    sys.exit(main())
