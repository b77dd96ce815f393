"""Series checks: is the series well formed? Each check yields findings under its own rule id."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from reviewtool.findings import Finding, Rule, Severity
from reviewtool.intake.patch import Diffstat, FileChange, Patch, function_name, unsafe_path
from reviewtool.intake.series import Series

RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("series-missing-patch", Severity.ERROR, "a patch of the numbered series is absent"),
        Rule("series-duplicate-patch", Severity.WARNING, "two messages carry the same number"),
        Rule("series-counter-overflow", Severity.WARNING, "a patch numbered past the total (6/5)"),
        Rule("series-expected-mismatch", Severity.WARNING, "patches disagree on the total"),
        Rule("series-no-cover", Severity.WARNING, "a multi-patch series has no cover letter"),
        Rule("series-mixed-revisions", Severity.NOTE, "the input holds several revisions"),
        Rule("series-ignored-message", Severity.NOTE, "a message was left out of the series"),
        Rule("message-unparseable", Severity.ERROR, "a series message could not be parsed"),
        Rule("patch-no-diff", Severity.ERROR, "a patch carries no diff"),
        Rule("signoff-missing", Severity.ERROR, "a patch has no Signed-off-by"),
        Rule("signoff-author-mismatch", Severity.WARNING, "the author did not sign off"),
        Rule("trailer-malformed", Severity.WARNING, "a person trailer has no <email>"),
        Rule("fixes-malformed", Severity.WARNING, 'Fixes: is not <12+ hex> ("subject")'),
        Rule("diffstat-mismatch", Severity.WARNING, "a patch's diffstat disagrees with its diff"),
        Rule("cover-diffstat-mismatch", Severity.WARNING, "the cover's diffstat != the patches"),
        Rule("whitespace-trailing", Severity.WARNING, "an added line ends in whitespace"),
        Rule("whitespace-space-before-tab", Severity.WARNING, "a space before a tab in indent"),
        Rule("whitespace-blank-at-eof", Severity.WARNING, "blank lines added at end of file"),
        Rule("patch-unsafe-path", Severity.ERROR, "a diff path is absolute, has .. or is in .git"),
        Rule("text-control-characters", Severity.WARNING, "control characters in the text"),
        Rule(
            "text-bidi-characters",
            Severity.ERROR,
            "bidi controls that reorder text (CVE-2021-42574)",
        ),
    )
}

_PERSON_TRAILERS = {
    "signed-off-by",
    "reviewed-by",
    "acked-by",
    "tested-by",
    "reported-by",
    "suggested-by",
    "co-developed-by",
}
_FIXES = re.compile(r'^[0-9a-f]{12,40} \("(.+)"\)$')


def finding(rule_id: str, message: str, **where: object) -> Finding:
    """A finding at its rule's default severity."""
    rule = RULES[rule_id]
    return Finding(rule=rule.id, severity=rule.severity, message=message, **where)  # type: ignore[arg-type]


def check_series(series: Series, *, skip: frozenset[str] = frozenset()) -> list[Finding]:
    """Every series check over the whole series, but for the rule ids in skip.

    Callers skip rules that cannot hold for their input: a lone patch checked by itself has
    no siblings to number, a git range has no cover letter until it is sent.
    """
    findings: list[Finding] = []
    for check in SERIES_CHECKS:
        findings.extend(check(series))
    for patch in series.patches:
        for patch_check in PATCH_CHECKS:
            findings.extend(patch_check(patch))
    return capped([f for f in findings if f.rule not in skip])


# At most this many findings of one rule for one patch; the rest are summed up in one more.
MOST_PER_RULE = 50


def capped(findings: list[Finding], most: int = MOST_PER_RULE) -> list[Finding]:
    """The findings with at most `most` of one rule per patch, and for each rule and patch
    over that one finding saying how many more there are, so that a hostile or huge patch
    (10,000 files of trailing whitespace) gives a report of bounded size."""
    kept: list[Finding] = []
    counts: dict[tuple[str, int | None], int] = {}
    firsts: dict[tuple[str, int | None], Finding] = {}
    for item in findings:
        group = (item.rule, item.patch)
        counts[group] = counts.get(group, 0) + 1
        firsts.setdefault(group, item)
        if counts[group] <= most:
            kept.append(item)
    for (rule, patch), count in counts.items():
        if count > most:
            kept.append(
                Finding(
                    rule=rule,
                    severity=firsts[(rule, patch)].severity,
                    message=f"and {count - most} more {rule} findings in this patch, not listed",
                    patch=patch,
                    key=f"more:{rule}",
                )
            )
    return kept


def _numbering(series: Series) -> Iterator[Finding]:
    label = f"{len(series.patches)} of {series.expected}"
    for number in series.missing:
        yield finding(
            "series-missing-patch",
            f"patch {number}/{series.expected} is missing ({label} present)",
            patch=number,
            key=str(number),
        )
    for copy in series.duplicates:
        kept = next(p for p in series.patches if p.number == copy.number)
        yield finding(
            "series-duplicate-patch",
            f"patch {copy.number} was sent twice: <{copy.message_id}> and <{kept.message_id}>;"
            " using the later one",
            patch=copy.number,
            key=copy.message_id,
        )
    for patch in series.patches:
        if patch.number > series.expected:
            yield finding(
                "series-counter-overflow",
                f"patch {patch.number}/{patch.subject.expected} is numbered past the series"
                f" total of {series.expected}",
                patch=patch.number,
                key=str(patch.number),
            )
        elif patch.subject.counters_given and patch.subject.expected != series.expected:
            yield finding(
                "series-expected-mismatch",
                f"patch {patch.number} says {patch.number}/{patch.subject.expected}, the series"
                f" has {series.expected}",
                patch=patch.number,
                key=str(patch.number),
            )


def _cover(series: Series) -> Iterator[Finding]:
    if series.cover is None and series.expected > 1:
        yield finding(
            "series-no-cover",
            f"a series of {series.expected} patches has no cover letter (0/{series.expected})",
        )


def _revisions(series: Series) -> Iterator[Finding]:
    if len(series.revisions_seen) > 1:
        seen = ", ".join(f"v{r}" for r in series.revisions_seen)
        how = "chosen by --revision" if series.revision_chosen_by == "option" else "the newest"
        yield finding(
            "series-mixed-revisions",
            f"the input holds {seen}; auditing v{series.revision} ({how})",
            key=seen,
        )


def _ignored(series: Series) -> Iterator[Finding]:
    for skipped in series.skipped:
        if skipped.reason.startswith("revision v"):
            continue  # summed up by series-mixed-revisions
        yield finding(
            "series-ignored-message",
            f"left out {skipped.mail.where}: {skipped.reason}",
            key=skipped.mail.message_id,
        )
    for broken in series.broken:
        yield finding(
            "message-unparseable",
            f"{broken.mail.where}: {broken.problem}",
            patch=broken.number,
            key=broken.mail.message_id,
        )


def _cover_diffstat(series: Series) -> Iterator[Finding]:
    cover = series.cover
    if cover is None or cover.diffstat is None or series.missing or series.broken:
        return
    stated = {entry.path for entry in cover.diffstat.entries}
    actual = set(series.files)
    extra = sorted(p for p in stated if not _matches_any(p, actual))
    absent = sorted(p for p in actual if not _matches_any(p, stated, reverse=True))
    if extra or absent or cover.diffstat.files_changed != len(actual):
        parts = [
            f"the cover letter's diffstat lists {cover.diffstat.files_changed} files,"
            f" the patches touch {len(actual)}"
        ]
        if absent:
            parts.append("not in the cover: " + ", ".join(absent[:5]))
        if extra:
            parts.append("only in the cover: " + ", ".join(extra[:5]))
        yield finding(
            "cover-diffstat-mismatch", "; ".join(parts), patch=0, key=",".join(absent + extra)
        )


def _matches_any(path: str, paths: set[str], *, reverse: bool = False) -> bool:
    """Diffstat abbreviates long paths as `.../tail`; match those by suffix."""
    if path in paths:
        return True
    for other in paths:
        stat, real = (other, path) if reverse else (path, other)
        if stat.startswith(".../") and real.endswith(stat[3:]):
            return True
    return False


def _has_diff(patch: Patch) -> Iterator[Finding]:
    if not patch.has_diff:
        yield finding("patch-no-diff", "the message carries no diff", patch=patch.number)


def _signoffs(patch: Patch) -> Iterator[Finding]:
    signoffs = [t.person for t in patch.trailers_named("Signed-off-by")]
    if not signoffs:
        yield finding("signoff-missing", "no Signed-off-by: line", patch=patch.number)
        return
    author = patch.author
    for person in signoffs:
        if person is None:
            continue
        if person.email.lower() == author.email.lower() or (
            author.name and person.name.lower() == author.name.lower()
        ):
            return
    found = ", ".join(str(p) for p in signoffs if p is not None)
    yield finding(
        "signoff-author-mismatch",
        f"no Signed-off-by: from the author {author}; signed off by {found}",
        patch=patch.number,
        key=str(author),
    )


def _trailer_forms(patch: Patch) -> Iterator[Finding]:
    for trailer in patch.trailers:
        name = trailer.name.lower()
        if name in _PERSON_TRAILERS and trailer.person is None:
            yield finding(
                "trailer-malformed",
                f"{trailer.name}: {trailer.value!r} has no <email>",
                patch=patch.number,
                key=f"{trailer.name}: {trailer.value}",
            )
        if name == "fixes" and not _FIXES.match(trailer.value):
            yield finding(
                "fixes-malformed",
                f"Fixes: {trailer.value!r} should read 'Fixes: <12+ chars of sha1>"
                ' ("<title line>")\'',
                patch=patch.number,
                key=trailer.value,
            )


def _diffstat(patch: Patch) -> Iterator[Finding]:
    stat = patch.diffstat
    if stat is None or not patch.files:
        return
    problems = list(_diffstat_problems(stat, patch.files))
    if problems:
        yield finding(
            "diffstat-mismatch",
            "the diffstat disagrees with the diff: " + "; ".join(problems),
            patch=patch.number,
            key=";".join(problems),
        )


def _diffstat_problems(stat: Diffstat, files: tuple[FileChange, ...]) -> Iterator[str]:
    by_path = {f.path: f for f in files}
    for entry in stat.entries:
        change = by_path.get(entry.path)
        if change is None and entry.path.startswith(".../"):
            change = next((f for f in files if f.path.endswith(entry.path[3:])), None)
        if change is None:
            yield f"{entry.path} is in the diffstat but not in the diff"
            continue
        actual = None if change.binary else change.added + change.removed
        if entry.changes != actual and not (entry.changes is None and change.binary):
            shown = "Bin" if entry.changes is None else entry.changes
            yield f"{change.path}: diffstat says {shown}, the diff changes {actual} lines"
    listed = {e.path for e in stat.entries}
    for change in files:
        if not _matches_any(change.path, listed, reverse=True):
            yield f"{change.path} is in the diff but not in the diffstat"
    insertions = sum(f.added for f in files)
    deletions = sum(f.removed for f in files)
    if (stat.files_changed, stat.insertions, stat.deletions) != (len(files), insertions, deletions):
        yield (
            f"summary says {stat.files_changed} files, +{stat.insertions} -{stat.deletions};"
            f" the diff has {len(files)} files, +{insertions} -{deletions}"
        )


def _whitespace(patch: Patch) -> Iterator[Finding]:
    """The errors `git apply --whitespace=error` rejects with git's default core.whitespace."""
    for change in patch.files:
        for hunk in change.hunks:
            for added in hunk.added:
                text = added.text
                if text != text.rstrip():
                    yield finding(
                        "whitespace-trailing",
                        "trailing whitespace",
                        patch=patch.number,
                        path=change.path,
                        line=added.line,
                        column=len(text.rstrip()) + 1,
                        function=function_name(hunk.function) or None,
                        key=text.strip(),
                    )
                indent = text[: len(text) - len(text.lstrip(" \t"))]
                if " \t" in indent:
                    yield finding(
                        "whitespace-space-before-tab",
                        "space before tab in indent",
                        patch=patch.number,
                        path=change.path,
                        line=added.line,
                        column=indent.index(" \t") + 1,
                        function=function_name(hunk.function) or None,
                        key=text.strip(),
                    )
        yield from _blank_at_eof(patch, change)


def _blank_at_eof(patch: Patch, change: FileChange) -> Iterator[Finding]:
    if not change.hunks:
        return
    last = change.hunks[-1]
    # Without trailing context the hunk is anchored at the end of the file.
    if last.trailing_context or not last.added or last.added[-1].text.strip():
        return
    if last.added[-1].line != last.target_start + last.target_length - 1:
        return
    yield finding(
        "whitespace-blank-at-eof",
        "new blank line at end of file",
        patch=patch.number,
        path=change.path,
        line=last.added[-1].line,
        key="blank-at-eof",
    )


def _unsafe_paths(patch: Patch) -> Iterator[Finding]:
    for change in patch.files:
        for path in dict.fromkeys((change.old_path, change.path)):
            reason = unsafe_path(path)
            if reason:
                yield finding(
                    "patch-unsafe-path",
                    f"the diff names {path!r}, {reason}; reviewtool does not apply it",
                    patch=patch.number,
                    key=path,
                )


# Bidirectional controls (Trojan Source, CVE-2021-42574) and other characters that hide or
# reorder text; and control characters, which a terminal may obey (ESC sequences).
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_IN_CODE = re.compile("[\x00-\x08\x0b\x0d-\x1f\x7f-\x9f]")  # form feeds are C


def _hidden_characters(patch: Patch) -> Iterator[Finding]:
    subject = patch.mail.raw_subject or patch.mail.subject
    yield from _characters_in(patch, "the subject", subject, _CONTROL, {})
    yield from _characters_in(patch, "the commit message", patch.commit_message, _CONTROL, {})
    for change in patch.files:
        for hunk in change.hunks:
            for added in hunk.added:
                where: dict[str, object] = {
                    "path": change.path,
                    "line": added.line,
                    "function": function_name(hunk.function) or None,
                }
                yield from _characters_in(
                    patch, "an added line", added.text, _CONTROL_IN_CODE, where
                )


def _cover_characters(series: Series) -> Iterator[Finding]:
    if series.cover is not None:
        subject = series.cover.mail.raw_subject or series.cover.mail.subject
        yield from _characters_in(series.cover, "the cover letter's subject", subject, _CONTROL, {})


def _characters_in(
    patch: Patch, name: str, text: str, control: re.Pattern[str], where: dict[str, object]
) -> Iterator[Finding]:
    for rule, pattern in (("text-bidi-characters", _BIDI), ("text-control-characters", control)):
        found = sorted(set(pattern.findall(text)))
        if found:
            listed = ", ".join(_character_name(c) for c in found[:4])
            yield finding(
                rule,
                f"{name} contains {listed}",
                patch=patch.number,
                key=f"{name}:{text.strip()}",
                **where,
            )


def _character_name(char: str) -> str:
    import unicodedata

    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


SERIES_CHECKS: tuple[Callable[[Series], Iterator[Finding]], ...] = (
    _numbering,
    _cover,
    _revisions,
    _ignored,
    _cover_diffstat,
    _cover_characters,
)
PATCH_CHECKS: tuple[Callable[[Patch], Iterator[Finding]], ...] = (
    _has_diff,
    _unsafe_paths,
    _signoffs,
    _trailer_forms,
    _diffstat,
    _whitespace,
    _hidden_characters,
)
