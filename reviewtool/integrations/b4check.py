"""`reviewtool check-patch`: one patch email checked as a one-patch series, for b4's checks.

b4 runs a check command once per patch (`am-perpatch-check-cmd`, `prep-perpatch-check-cmd`,
`review-perpatch-check-cmd`) with the message on stdin, and once per series on the cover letter
(`review-series-check-cmd`). A lone patch is audited with the series rules that cannot hold for
it left out, so patch 3/5 checked alone does not report patches 1, 2, 4 and 5 missing. Every
finding is placed on a line of the input message (reviewtool.linemap).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from reviewtool.errors import InputError
from reviewtool.findings import Finding
from reviewtool.intake.linemap import (
    MessageLines,
    effective_encoding,
    header_end,
    map_message,
    parse_headers,
    real_multipart,
)
from reviewtool.intake.mail import Source, read_sources
from reviewtool.report import Report
from reviewtool.review import AuditOptions, run

if TYPE_CHECKING:
    from reviewtool.analysis.treeaudit import TreeOptions

log = logging.getLogger(__name__)

Scope = Literal["patch", "cover", "series"]

# Series rules that cannot hold for one patch given alone: its siblings were not given, not
# lost, and there is nobody to disagree with. Kept: series-counter-overflow (a subject of
# `3/2` is wrong on its face) and the patch rules.
SKIPPED_ALONE = frozenset(
    {
        "series-missing-patch",
        "series-no-cover",
        "series-expected-mismatch",
        "series-duplicate-patch",
        "series-mixed-revisions",
        "cover-diffstat-mismatch",
    }
)
# A thread b4 saved holds the replies too; leaving them out is not news.
SKIPPED_IN_THREAD = frozenset({"series-ignored-message"})

_TRACKING_VARIABLE = "B4_TRACKING_FILE"


@dataclass(frozen=True)
class CheckOptions:
    """What `reviewtool check-patch` was asked to do.

    With `series`, the whole thread b4 saved for the series under review is audited: b4 names
    its tracking data (JSON, with the thread's git blob) in `tracking_file`, and the blob is read
    from the repository at `git_dir` (b4 runs checks in the git toplevel).
    """

    tree: TreeOptions | None = None
    series: bool = False
    tracking_file: Path | None = None
    git_dir: Path | None = None


@dataclass(frozen=True)
class PatchCheck:
    """The report on one message, the message's line map, and what was checked.

    scope: `patch` (one patch), `cover` (a cover letter checked alone) or `series` (the
    thread b4 saved). `note` says why a series check fell back to the message alone.
    """

    report: Report
    lines: MessageLines
    scope: Scope
    note: str = ""


def read_message(path: Path) -> bytes:
    """The bytes of a message file, or InputError."""
    try:
        return path.read_bytes()
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such file") from error
    except IsADirectoryError as error:
        raise InputError(f"{path}: is a directory; check-patch reads one message") from error
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from error


def check_patch(data: bytes, name: str, options: CheckOptions) -> PatchCheck:
    """Check one message: a patch (or a cover letter), or with options.series its thread."""
    lines = map_message(data)  # the numbers of the bytes as given
    data = engine_bytes(data)
    count = len(read_sources([Source(name=name, data=data)]))
    if count > 1:
        raise InputError(
            f"{name}: holds {count} messages; check-patch reads one (audit a series with"
            " `reviewtool audit`)"
        )
    note = ""
    if options.series:
        thread, note = saved_thread(options.tracking_file, options.git_dir)
        if thread is not None:
            audit = AuditOptions(keep_going=True, tree=options.tree, skip_rules=SKIPPED_IN_THREAD)
            report = run([Source(name="b4 thread", data=thread)], audit)
            return PatchCheck(report, lines, "series")
        log.info("series check of the message alone: %s", note)
    audit = AuditOptions(keep_going=True, tree=options.tree, skip_rules=SKIPPED_ALONE)
    report = run([Source(name=name, data=data)], audit)
    series = report.series
    scope: Scope = "cover" if series.cover is not None and not series.patches else "patch"
    return PatchCheck(report, lines, scope, note)


def saved_thread(tracking_file: Path | None, git_dir: Path | None) -> tuple[bytes | None, str]:
    """The thread mbox b4 saved for the series under review, or None and why not."""
    if tracking_file is None:
        return None, f"b4 gave no thread: ${_TRACKING_VARIABLE} is not set"
    try:
        tracking = json.loads(tracking_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"cannot read b4's tracking data {tracking_file.name}: {error}"
    series = tracking.get("series") if isinstance(tracking, dict) else None
    blob = series.get("thread-blob") if isinstance(series, dict) else None
    if not isinstance(blob, str) or not blob:
        return None, "b4's tracking data names no saved thread (thread-blob)"
    from reviewtool.git import run_git

    result = run_git("cat-file", "blob", blob, cwd=git_dir, check=False)
    if result.returncode != 0 or not result.stdout.strip():
        return None, f"the saved thread {blob[:12]} is not in this repository"
    return result.stdout, ""


def engine_bytes(raw: bytes) -> bytes:
    """The message as the engine should read it.

    b4 decodes a body before feeding it to a check command but keeps its
    `Content-Transfer-Encoding:` (and, for multipart mail, its multipart `Content-Type:`);
    those headers are rewritten to say what the body is. Only headers change, so the line
    numbers of the body stay those of the input.
    """
    lines = raw.split(b"\n")
    bare = [line.rstrip(b"\r") for line in lines]
    start = 0
    while start < len(bare) and not bare[start].strip():
        start += 1
    if start < len(bare) and bare[start].startswith(b"From ") and b":" not in bare[start][:5]:
        start += 1
    blank = header_end(bare, start, len(bare))
    headers = parse_headers(bare[start:blank])
    body = bare[blank + 1 :]
    replacements: dict[bytes, bytes] = {}
    if headers.get_content_maintype() == "multipart":
        if not real_multipart(headers, body):
            replacements[b"content-type"] = b'Content-Type: text/plain; charset="utf-8"'
            replacements[b"content-transfer-encoding"] = b"Content-Transfer-Encoding: 8bit"
    else:
        declared = str(headers.get("Content-Transfer-Encoding", "")).strip().lower()
        if declared and effective_encoding(declared, body) != declared:
            replacements[b"content-transfer-encoding"] = b"Content-Transfer-Encoding: 8bit"
    if not replacements:
        return raw
    log.debug("the body is already decoded; reading it as 8bit")
    ending = b"\r" if lines[start].endswith(b"\r") else b""
    kept = _without_fields(lines[start:blank], set(replacements))
    added = [value + ending for value in replacements.values()]
    return b"\n".join(lines[:start] + kept + added + lines[blank:])


def _without_fields(block: list[bytes], names: set[bytes]) -> list[bytes]:
    kept: list[bytes] = []
    dropping = False
    for line in block:
        if line[:1] in (b" ", b"\t"):  # a folded continuation of the field above
            if not dropping:
                kept.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().lower() in names
        if not dropping:
            kept.append(line)
    return kept


def locate(finding: Finding, lines: MessageLines) -> int:
    """The input line a finding is about; the Subject: line when it has no better place."""
    if finding.path:
        if finding.line is not None:
            shown = lines.post_image(finding.path, finding.line)
            if shown is not None:
                return shown
        if finding.path in lines.files:
            return lines.files[finding.path]
    found = _message_place(finding, lines)
    return found if found is not None else lines.subject


def _message_place(finding: Finding, lines: MessageLines) -> int | None:
    if finding.rule == "trailer-malformed":
        return lines.trailer(finding.key)
    if finding.rule == "fixes-malformed":
        return lines.trailer(f"Fixes: {finding.key}") or lines.trailer("Fixes:")
    if finding.rule == "signoff-author-mismatch":
        return lines.trailer("Signed-off-by:", first=True)
    if finding.rule == "diffstat-mismatch":
        return lines.diffstat_summary()
    return None
