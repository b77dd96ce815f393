"""Property tests of reviewtool.intake.series.build_series on generated threads: any numbering
(gaps, duplicates, 6/5, mixed revisions, replies) and any threading (In-Reply-To and
References pointing anywhere, cycles, self references, hundreds of ids) gives a Series or an
InputError, and with keep_going broken messages become facts, not errors."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from reviewtool.analysis.checks import check_series
from reviewtool.errors import InputError
from reviewtool.intake.mail import MAX_REFERENCES, Mail, parse_mail
from reviewtool.intake.series import Series, build_series
from tests.fuzz.strategies import (
    dates,
    hostile_text,
    mime_messages,
    one_line,
    patch_bodies,
    pick,
)


@dataclass(frozen=True)
class Thread:
    """Generated messages, parsed as the mail reader parses them."""

    mails: list[Mail]


_BROKEN_MIME = (
    b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n'
    b"Content-Transfer-Encoding: base64\n\n!!!not base64!!!\n"
)


@st.composite
def subjects(draw: st.DrawFn) -> str:
    """Numbered with gaps, repeats, 0 (a cover), 6/5; revisions v1, v2, v10; some replies."""
    reply = pick(draw, ["", "", "", "Re: ", "RE: Fwd: "])
    revision = pick(draw, ["", "", "v2 ", "v10 ", "V3 ", "v0 ", "v999 "])
    tags = pick(draw, ["PATCH ", "PATCH ", "RFC PATCH ", "PATCH RESEND ", "", "patch-v2 "])
    counter, expected = draw(st.integers(0, 8)), draw(st.integers(0, 8))
    numbering = pick(draw, [f"{counter}/{expected}", f"{counter:02d}/{expected:02d}", "6/5", ""])
    title = one_line(draw(hostile_text(20)))
    return f"{reply}[{tags}{revision}{numbering}] {title}"


_SUBJECTS = subjects()
_POOL = [f"m{n}@example.org" for n in range(15)]  # ids hit, miss, repeat and form cycles
_REFERENCES = st.lists(st.integers(0, len(_POOL) - 1), max_size=6)
_GENERATED = mime_messages(max_depth=20)


@st.composite
def threads(draw: st.DrawFn) -> Thread:
    """Up to 12 messages with ids from a small pool, so that references hit, miss, repeat,
    point at the message itself and form cycles."""
    count = draw(st.integers(1, 12))
    mails = []
    for index in range(1, count + 1):
        references = [_POOL[n] for n in draw(_REFERENCES)]
        if draw(st.integers(0, 5)) == 0:  # hundreds of ids, drawn cheaply: a walk in the pool
            step, length = draw(st.integers(0, 7)), draw(st.integers(100, 500))
            references += [_POOL[(index + k * step) % len(_POOL)] for k in range(length)]
        fields = [
            "From: Ann Author <ann@example.org>",
            f"Subject: {draw(_SUBJECTS)}",
            f"Date: {draw(dates)}",
        ]
        if draw(st.integers(0, 5)):
            own = _POOL[index - 1] if draw(st.booleans()) else pick(draw, _POOL)
            fields.append(f"Message-Id: <{own}>")
        if draw(st.booleans()):
            fields.append(f"In-Reply-To: <{pick(draw, _POOL)}>")
        if references:
            fields.append("References: " + "\n ".join(f"<{r}>" for r in references))
        kind = pick(draw, ["patch", "patch", "corrupt", "text", "mime", "generated"])
        if kind == "generated":
            raw = draw(_GENERATED).raw
        else:
            head = "".join(f"{field}\n" for field in fields).encode()
            if kind == "mime":
                raw = head + _BROKEN_MIME
            else:
                text = (
                    hostile_text(200) if kind == "text" else patch_bodies(mutated=kind != "patch")
                )
                raw = head + b"\n" + draw(text).encode("utf-8", "surrogatepass")
        mails.append(parse_mail(raw, origin="thread.mbox", index=index))
    return Thread(mails)


def _check(series: Series, mails: list[Mail]) -> None:
    numbers = [p.number for p in series.patches]
    assert numbers == sorted(set(numbers))
    assert series.revision in series.revisions_seen
    assert series.revision_chosen_by in ("only", "newest", "option")
    assert all(1 <= n <= series.expected for n in series.missing)
    assert not set(series.missing) & set(numbers)
    counted = (
        len(series.patches) + len(series.duplicates) + len(series.broken) + len(series.skipped)
    )
    assert counted + (series.cover is not None) <= len(mails)
    for member in series.members:
        assert member.mail in mails
    for broken in series.broken:
        assert broken.problem


@given(threads())
def test_any_thread_with_keep_going_gives_a_series(thread: Thread) -> None:
    try:
        series = build_series(thread.mails, keep_going=True)
    except InputError as error:  # keep_going turns every broken message into a fact
        assert error.message.startswith("no patch found"), error.message
        return
    _check(series, thread.mails)
    findings = check_series(series)
    unparseable = [f for f in findings if f.rule == "message-unparseable"]
    assert len(unparseable) == len(series.broken)


@given(threads(), st.one_of(st.none(), st.integers(0, 12), st.integers(-(10**30), 10**30)))
def test_any_thread_without_keep_going(thread: Thread, revision: int | None) -> None:
    try:
        series = build_series(thread.mails, revision=revision, keep_going=False)
    except InputError as error:
        assert "\n" not in error.message
        return
    assert not series.broken
    _check(series, thread.mails)


@given(st.integers(0, 3000), st.integers(0, 3))
def test_references_kept_are_bounded(count: int, shape: int) -> None:
    """A References header of any length keeps at most MAX_REFERENCES ids (so threading is
    linear in the input), whatever the ids look like."""
    ids = [f"{n}@x" for n in range(count)]
    separator = ["\n ", " ", "", "\n\t"][shape]
    raw = (
        b"From: a@b.org\nSubject: [PATCH] x\nMessage-Id: <0@x>\nReferences: "
        + separator.join(f"<{i}>" for i in ids).encode()
        + b"\n\nbody\n"
    )
    mail = parse_mail(raw, origin="t", index=1)
    assert len(mail.references) <= MAX_REFERENCES
    assert len(mail.references) == min(count, MAX_REFERENCES)
