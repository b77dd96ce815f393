"""Merging JSON reports of shards (one `--arch` each) of the same series into one report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reviewtool.errors import InputError
from reviewtool.report import SCHEMA_VERSION


def merge_reports(paths: list[Path]) -> dict[str, Any]:
    """One report: the first shard's series, every shard's builds and findings, de-duplicated."""
    if not paths:
        raise InputError("merge needs at least one JSON report")
    reports = [_load(path) for path in paths]
    merged = dict(reports[0])
    ids = {json.dumps(r["series"].get("patches", [])[:1], sort_keys=True) for r in reports}
    messages = {r["series"].get("subject") for r in reports}
    if len(messages) > 1 or len(ids) > 1:
        raise InputError(
            "the reports are of different series: " + ", ".join(sorted(str(m) for m in messages))
        )
    cells: dict[tuple[int, str], dict[str, Any]] = {}
    findings: dict[tuple[Any, ...], dict[str, Any]] = {}
    for report in reports:
        for cell in report.get("builds", []):
            cells[(cell["patch"], cell["arch"])] = cell
        for finding in report.get("findings", []):
            findings[(finding["fingerprint"], finding["patch"], finding["rule"])] = finding
    merged["builds"] = [cells[key] for key in sorted(cells)]
    merged["findings"] = sorted(
        findings.values(),
        key=lambda f: (
            -1 if f["patch"] is None else f["patch"],
            f["rule"],
            f["path"] or "",
            f["line"] or 0,
            f["message"],
        ),
    )
    summary = {"error": 0, "warning": 0, "note": 0}
    for finding in merged["findings"]:
        summary[finding["severity"]] += 1
    merged["summary"] = summary
    merged["sources"] = sorted({s for r in reports for s in r.get("sources", [])})
    return merged


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from error
    except ValueError as error:
        raise InputError(f"{path}: not a JSON report: {error}") from error
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"{path}: not a reviewtool JSON report (schema {SCHEMA_VERSION})")
    return data
