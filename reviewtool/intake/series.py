"""Assembling a series from messages: revisions, threads, cover letter, order, gaps, duplicates.

The Series records facts (what is missing, duplicated, ignored); checks.py turns facts into
findings, so the same facts serve every report format.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from reviewtool.errors import InputError, MessageError
from reviewtool.intake.mail import Mail, parse_date
from reviewtool.intake.patch import Patch, parse_patch
from reviewtool.intake.subject import Subject, parse_subject


@dataclass(frozen=True)
class Skipped:
    """A message that is not part of the audited series, and why."""

    mail: Mail
    reason: str


@dataclass(frozen=True)
class Broken:
    """A series message that could not be parsed (kept only with keep_going)."""

    mail: Mail
    number: int | None
    problem: str


@dataclass(frozen=True)
class Series:
    cover: Patch | None
    patches: tuple[Patch, ...]
    revision: int
    expected: int
    revisions_seen: tuple[int, ...]
    revision_chosen_by: str  # "only" | "newest" | "option"
    missing: tuple[int, ...]
    duplicates: tuple[Patch, ...]  # copies that lost to a later copy of the same number
    broken: tuple[Broken, ...]
    skipped: tuple[Skipped, ...]

    @property
    def title(self) -> str:
        first = self.cover or (self.patches[0] if self.patches else None)
        return first.subject.title if first else ""

    @property
    def subject(self) -> str:
        first = self.cover or (self.patches[0] if self.patches else None)
        return first.mail.subject if first else ""

    @property
    def base_commit(self) -> str:
        for member in self.members:
            if member.base_commit:
                return member.base_commit
        return ""

    @property
    def prerequisite_patch_ids(self) -> tuple[str, ...]:
        for member in self.members:
            if member.prerequisite_patch_ids:
                return member.prerequisite_patch_ids
        return ()

    @property
    def members(self) -> tuple[Patch, ...]:
        return ((self.cover,) if self.cover else ()) + self.patches

    @property
    def files(self) -> tuple[str, ...]:
        """Every path the series touches, sorted."""
        return tuple(sorted({f.path for p in self.patches for f in p.files}))


@dataclass(frozen=True)
class _Candidate:
    mail: Mail
    patch: Patch | None
    problem: str


def build_series(
    mails: Sequence[Mail], *, revision: int | None = None, keep_going: bool = False
) -> Series:
    """Pick the series out of the messages and put it in order.

    Raises MessageError for a broken series message unless keep_going, and InputError when no
    message is a patch or the requested revision is absent.
    """
    candidates, skipped = _classify(mails)
    if not candidates:
        raise InputError("no patch found: no message has a [PATCH] subject or a diff")
    by_revision: dict[int, list[_Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_revision[_subject_of(candidate).revision].append(candidate)
    revisions = tuple(sorted(by_revision))
    chosen, chosen_by = _choose_revision(revisions, revision)
    for other in revisions:
        if other != chosen:
            skipped += [Skipped(c.mail, f"revision v{other}") for c in by_revision[other]]
    members, foreign = _main_thread(by_revision[chosen])
    skipped += [Skipped(c.mail, "another thread") for c in foreign]
    return _assemble(members, revisions, chosen, chosen_by, skipped, keep_going)


def _subject_of(candidate: _Candidate) -> Subject:
    return candidate.patch.subject if candidate.patch else parse_subject(candidate.mail.subject)


def _classify(mails: Sequence[Mail]) -> tuple[list[_Candidate], list[Skipped]]:
    candidates: list[_Candidate] = []
    skipped: list[Skipped] = []
    for mail in mails:
        subject = parse_subject(mail.subject)
        if subject.is_reply:
            skipped.append(Skipped(mail, "a reply"))
            continue
        patch: Patch | None = None
        problem = mail.problem
        if not problem:
            try:
                patch = parse_patch(mail)
            except MessageError as error:
                problem = error.problem
        if patch is not None and not (subject.is_patch or patch.has_diff):
            skipped.append(Skipped(mail, "not a patch"))
            continue
        if patch is None and not subject.is_patch:
            skipped.append(Skipped(mail, f"not a patch ({problem})"))
            continue
        candidates.append(_Candidate(mail, patch, problem))
    return candidates, skipped


def _choose_revision(revisions: tuple[int, ...], wanted: int | None) -> tuple[int, str]:
    if wanted is not None:
        if wanted not in revisions:
            seen = ", ".join(f"v{r}" for r in revisions)
            raise InputError(f"revision v{wanted} is not in the input (it holds {seen})")
        return wanted, "option"
    return revisions[-1], "only" if len(revisions) == 1 else "newest"


def _main_thread(candidates: list[_Candidate]) -> tuple[list[_Candidate], list[_Candidate]]:
    """The largest thread of this revision, plus unthreaded messages (format-patch output)."""
    parent: dict[str, str] = {}
    size: dict[str, int] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]  # path halving: near-constant amortised
            node = parent[node]
        return node

    def union(a: str, b: str) -> None:
        a, b = find(a), find(b)
        if a == b:
            return
        if size.get(a, 1) > size.get(b, 1):
            a, b = b, a
        parent[a] = b  # the smaller tree under the larger one
        size[b] = size.get(b, 1) + size.get(a, 1)

    keys = [c.mail.message_id or f"#{c.mail.index}" for c in candidates]
    for key, candidate in zip(keys, candidates, strict=True):
        parent.setdefault(key, key)
        for ref in (*candidate.mail.references, candidate.mail.in_reply_to):
            if ref:
                union(key, ref)
    groups: dict[str, list[int]] = defaultdict(list)
    for position, key in enumerate(keys):
        groups[find(key)].append(position)
    threaded = [g for g in groups.values() if len(g) > 1 or _is_threaded(candidates[g[0]])]
    if not threaded:
        return candidates, []
    main = max(threaded, key=lambda g: (len(g), -g[0]))
    keep = set(main) | {p for g in groups.values() if g not in threaded for p in g}
    members = [c for i, c in enumerate(candidates) if i in keep]
    foreign = [c for i, c in enumerate(candidates) if i not in keep]
    return members, foreign


def _is_threaded(candidate: _Candidate) -> bool:
    return bool(candidate.mail.in_reply_to or candidate.mail.references)


def _assemble(
    members: list[_Candidate],
    revisions: tuple[int, ...],
    chosen: int,
    chosen_by: str,
    skipped: list[Skipped],
    keep_going: bool,
) -> Series:
    broken: list[Broken] = []
    good: list[Patch] = []
    for candidate in members:
        if candidate.patch is None:
            if not keep_going:
                raise MessageError(candidate.mail.where, candidate.problem)
            subject = parse_subject(candidate.mail.subject)
            number = subject.counter if subject.counters_given else None
            broken.append(Broken(candidate.mail, number, candidate.problem))
        else:
            good.append(candidate.patch)
    cover, patches = _split_cover(good)
    by_number: dict[int, list[Patch]] = defaultdict(list)
    for patch in patches:
        by_number[patch.number].append(patch)
    ordered: list[Patch] = []
    duplicates: list[Patch] = []
    for number in sorted(by_number):
        copies = sorted(by_number[number], key=_sent_at)
        ordered.append(copies[-1])
        duplicates.extend(copies[:-1])
    expected = _expected(cover, ordered)
    present = set(by_number) | {b.number for b in broken if b.number is not None}
    missing = tuple(n for n in range(1, expected + 1) if n not in present)
    return Series(
        cover=cover,
        patches=tuple(ordered),
        revision=chosen,
        expected=expected,
        revisions_seen=revisions,
        revision_chosen_by=chosen_by,
        missing=missing,
        duplicates=tuple(duplicates),
        broken=tuple(broken),
        skipped=tuple(skipped),
    )


def _split_cover(patches: list[Patch]) -> tuple[Patch | None, list[Patch]]:
    """The cover letter is numbered 0, or is a diff-less message that carries a diffstat."""
    covers = [p for p in patches if p.subject.counters_given and p.number == 0]
    if not covers:
        covers = [
            p for p in patches if not p.has_diff and p.diffstat is not None and len(patches) > 1
        ]
    if not covers:
        return None, patches
    cover = sorted(covers, key=_sent_at)[-1]
    return cover, [p for p in patches if p is not cover and p not in covers]


def _expected(cover: Patch | None, patches: list[Patch]) -> int:
    if cover is not None and cover.subject.counters_given:
        return cover.subject.expected
    totals = [p.subject.expected for p in patches if p.subject.counters_given]
    if totals:
        return max(set(totals), key=totals.count)
    return len(patches)


def _sent_at(patch: Patch) -> tuple[float, int]:
    when = parse_date(patch.mail.date) or datetime.fromtimestamp(0, timezone.utc)
    return when.timestamp(), patch.mail.index
