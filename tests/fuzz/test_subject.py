"""Property tests of reviewtool.intake.subject.parse_subject: any text gives a Subject whose
numbers come from the text, and a well-formed b4 subject is read back exactly."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from reviewtool.intake.subject import Subject, parse_subject
from tests.fuzz.strategies import hostile_text, subject_lines

_PAIRS = re.compile(r"(\d+)/(\d+)")
_VERSIONS = re.compile(r"v(\d+)", re.IGNORECASE)


def _check_said(subject: Subject, raw: str) -> None:
    """What the Subject reports is in the text: counters and revision appear in it."""
    assert subject.raw == raw
    assert subject.title in raw
    if subject.counters_given:
        pairs = {(int(a), int(b)) for a, b in _PAIRS.findall(raw)}
        assert (subject.counter, subject.expected) in pairs
        assert 0 <= subject.counter <= 9999 and 0 <= subject.expected <= 9999
    else:
        assert (subject.counter, subject.expected) == (1, 1)
    if subject.revision_given:
        said = {int(n) for n in _VERSIONS.findall(raw)}
        # `v0` is read as revision 1 (revision_given stays True): harmless, not a bug
        assert subject.revision in said or (subject.revision == 1 and 0 in said), said
        assert 0 <= subject.revision <= 999
    else:
        assert subject.revision == 1
    assert all(p and p.strip() == p for p in subject.prefixes)


@given(hostile_text(200))
def test_any_text_gives_a_subject(raw: str) -> None:
    _check_said(parse_subject(raw), raw)


@given(subject_lines())
def test_b4_shaped_subjects_give_what_they_say(raw: str) -> None:
    _check_said(parse_subject(raw), raw)


_WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_TITLE = st.builds(
    lambda first, rest: (first + rest).strip(),
    st.text(st.sampled_from(_WORD), min_size=1, max_size=1),
    st.text(st.sampled_from(_WORD + " :_.()-"), max_size=40),
)


@given(
    counter=st.integers(0, 9999),
    expected=st.integers(1, 9999),
    width=st.integers(1, 4),
    revision=st.integers(1, 999),
    rfc=st.booleans(),
    title=_TITLE,
)
def test_a_well_formed_subject_is_read_back(
    counter: int, expected: int, width: int, revision: int, rfc: bool, title: str
) -> None:
    tags = "RFC " if rfc else ""
    version = f"v{revision} " if revision > 1 else ""
    raw = f"[PATCH {tags}{version}{counter:0{width}d}/{expected:0{width}d}] {title}"
    subject = parse_subject(raw)
    assert subject.is_patch and subject.counters_given and not subject.is_reply
    assert (subject.counter, subject.expected) == (counter, expected)
    assert subject.revision == revision and subject.revision_given == (revision > 1)
    assert subject.is_rfc == rfc
    assert subject.title == title
    assert parse_subject("Re: " + raw).is_reply
