"""Wording shared by the human-readable renderers."""

from __future__ import annotations

from reviewtool.findings import Finding, Location, Severity
from reviewtool.report import Report


def headline(report: Report) -> str:
    series = report.series
    cover = "with cover letter" if series.cover else "no cover letter"
    return (
        f"v{series.revision}, {len(series.patches)} of {series.expected} patches, {cover}, "
        f"{plural(len(series.files), 'file')}, "
        f"+{sum(p.insertions for p in series.patches)} "
        f"-{sum(p.deletions for p in series.patches)}"
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def totals(report: Report) -> str:
    counts = report.counts
    if not report.findings:
        return "no findings"
    return ", ".join(plural(counts[s], s.value) for s in Severity if counts[s])


def place(finding: Finding) -> str:
    if finding.path is None:
        return ""
    return f"{finding.path}:{finding.line}" if finding.line else finding.path


def full_message(finding: Finding) -> str:
    """The message with what a one-line format would otherwise lose: a build finding's
    reproduce command."""
    if finding.build is not None and finding.build.reproduce:
        return f"{finding.message}; reproduce: {finding.build.reproduce}"
    return finding.message


def at(location: Location) -> str:
    """`path:line`, or the path alone for a place without a line."""
    return f"{location.path}:{location.line}" if location.line is not None else location.path


def patch_label(report: Report, number: int | None) -> str:
    if number is None:
        return "series"
    if number == 0:
        return "cover"
    return f"{number}/{report.series.expected}"


def tree_lines(report: Report) -> list[str]:
    """The tree-mode summary, one line each: base, how each patch applied, the audits."""
    tree = report.tree
    if tree is None:
        return []
    state = tree.state
    lines = [f"Tree: {state.path} at {state.base[:12]} ({state.base_source})"]
    by_status: dict[str, list[str]] = {}
    for applied in state.applied:
        by_status.setdefault(applied.status, []).append(str(applied.number))
    lines.append(
        "  applied: "
        + "; ".join(
            f"{len(numbers)} {status}" + (f" ({', '.join(numbers)})" if status != "ok" else "")
            for status, numbers in by_status.items()
        )
    )
    for applied in state.applied:
        for failure in applied.failures:
            lines.append(f"  patch {applied.number}: {failure.describe()}")
        for hunk in applied.assisted:
            lines.append(
                f"  patch {applied.number}: {hunk.describe()}; applied by {applied.method}"
            )
    if state.partial_from is not None:
        lines.append(f"  states after patch {state.partial_from} are partially applied")
    for audit in tree.audits:
        final = audit.final
        verdicts: dict[str, int] = {}
        for site in final.sites:
            verdicts[site.verdict] = verdicts.get(site.verdict, 0) + 1
        coverage = final.coverage
        lines.append(
            f"Rule {audit.rule.id}: {len(final.sites)} call sites after the series ("
            + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
            + f"); coverage {coverage.parsed}/{coverage.textual} textual calls parsed"
        )
        statuses: dict[str, int] = {}
        for status in audit.causes:
            label = status.status if status.cause.verdict == "unhandled" else "latent"
            statuses[label] = statuses.get(label, 0) + 1
        if statuses:
            order = ("new", "changed", "latent", "preexisting")
            lines.append(
                "  root causes: "
                + ", ".join(
                    f"{statuses[k]} {k.replace('preexisting', 'pre-existing')}"
                    for k in order
                    if k in statuses
                )
            )
        for delta in audit.deltas:
            if delta.unhandled or delta.resolved:
                lines.append(
                    f"  patch {delta.number}: {len(delta.unhandled)} made unhandled, "
                    f"{len(delta.resolved)} resolved"
                )
    return lines


_SHORT = {
    "ok": "ok",
    "new_warnings": "WARN",
    "new_errors": "ERROR",
    "preexisting": "pre",
    "not_built": "n/b",
}


def build_lines(report: Report) -> list[str]:
    """The patch x architecture matrix, then why each not-built column is not built."""
    builds = report.builds
    if builds is None:
        return []
    names = list(builds.arches)
    width = max([8, *(len(n) for n in names)])
    lines = [
        "Builds (patch x arch): " + "; ".join(f"{k} = {v}" for k, v in _SHORT.items()),
        "  patch " + "".join(f"{n:>{width + 1}}" for n in names),
    ]
    by_patch: dict[int, dict[str, str]] = {}
    for cell in builds.cells:
        by_patch.setdefault(cell.patch, {})[cell.arch] = _SHORT[cell.status]
    for patch, row in sorted(by_patch.items()):
        label = "base" if patch == 0 else str(patch)
        lines.append(f"  {label:>5} " + "".join(f"{row.get(n, '-'):>{width + 1}}" for n in names))
    seen: set[tuple[str, str]] = set()
    for cell in builds.cells:
        if cell.reason and (cell.arch, cell.reason) not in seen:
            seen.add((cell.arch, cell.reason))
            lines.append(f"  {cell.arch}: {cell.reason}")
    return lines


# Characters that must never reach a terminal or a rendered page as they are: C0 controls but
# tab and newline (ESC starts terminal escape sequences), DEL, C1 controls, and the invisible
# formatting characters that reorder or hide text (Trojan Source, CVE-2021-42574).
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROLS = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c not in (9, 10))
_HIDDEN = BIDI + "\u200b\u200c\u200d\u2060\ufeff"
_VISIBLE = str.maketrans(
    {
        **{c: f"\\x{ord(c):02x}" for c in _CONTROLS},
        **{c: f"[U+{ord(c):04X}]" for c in _HIDDEN},
    }
)
_JSON_ESCAPED = str.maketrans({c: f"\\u{ord(c):04x}" for c in _CONTROLS + _HIDDEN})


def visible(text: str) -> str:
    """Text with control and bidi characters spelled out (\\x1b, [U+202E]), safe to show."""
    return text.translate(_VISIBLE)


def json_safe(text: str) -> str:
    """JSON text with control and bidi characters as \\u escapes: the same data, safe to cat.

    Only for text json.dumps wrote: those characters occur there only inside strings.
    """
    return text.translate(_JSON_ESCAPED)


def unique_fingerprints(findings: tuple[Finding, ...]) -> list[str]:
    """Each finding's fingerprint, with `:2`, `:3`... on repeats of one fingerprint in a report.

    Findings of one rule about the same content in the same function (two identical added
    lines) share Finding.fingerprint; the occurrence, counted in report order (patch, line),
    keeps them apart and, like the fingerprint, does not depend on line numbers.
    """
    seen: dict[str, int] = {}
    result = []
    for finding in findings:
        base = finding.fingerprint
        seen[base] = seen.get(base, 0) + 1
        result.append(base if seen[base] == 1 else f"{base}:{seen[base]}")
    return result
