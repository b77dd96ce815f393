from __future__ import annotations

import pytest

from reviewtool.intake.subject import parse_subject


@pytest.mark.parametrize(
    ("raw", "counter", "expected", "revision", "prefixes", "title"),
    [
        ("[PATCH RFC 03/30] mm: thing", 3, 30, 1, ("RFC",), "mm: thing"),
        ("[PATCH RFC v2 03/30] mm: thing", 3, 30, 2, ("RFC",), "mm: thing"),
        ("[PATCHv3 1/5] x: y", 1, 5, 3, (), "x: y"),
        ("[PATCH-v4 2/5] x: y", 2, 5, 4, (), "x: y"),
        ("[RFC PATCH] x: y", 1, 1, 1, ("RFC",), "x: y"),
        ("[RESEND PATCH v2 0/1] x", 0, 1, 2, ("RESEND",), "x"),
        ("[PATCH net-next v3 1/2] net: z", 1, 2, 3, ("net-next",), "net: z"),
        ("[PATCH mm-hotfixes] mm: fix", 1, 1, 1, ("mm-hotfixes",), "mm: fix"),
        ("[PATCH 6/5] late one", 6, 5, 1, (), "late one"),
        ("[PATCH 1/2 v3] trailing version", 1, 2, 3, (), "trailing version"),
        ("[PATCH] [v2] two brackets", 1, 1, 2, (), "two brackets"),
        ("[PATCH 01/30][RFC] odd order", 1, 30, 1, ("RFC",), "odd order"),
    ],
)
def test_parse_subject(
    raw: str, counter: int, expected: int, revision: int, prefixes: tuple[str, ...], title: str
) -> None:
    subject = parse_subject(raw)
    assert subject.is_patch
    assert (subject.counter, subject.expected, subject.revision) == (counter, expected, revision)
    assert subject.prefixes == prefixes
    assert subject.title == title


def test_given_or_inferred() -> None:
    plain = parse_subject("[PATCH] mm: a")
    assert not plain.counters_given and not plain.revision_given
    numbered = parse_subject("[PATCH v2 1/3] mm: a")
    assert numbered.counters_given and numbered.revision_given


def test_reply_and_non_patch() -> None:
    reply = parse_subject("Re: [PATCH RFC 07/30] mm/swap: Introduce the idea")
    assert reply.is_reply and reply.counter == 7
    assert parse_subject("Re: Re: AW: [PATCH] x").is_reply
    other = parse_subject("[GIT PULL] mm fixes")
    assert not other.is_patch and other.prefixes == ("GIT", "PULL")


def test_rfc_and_resend_flags() -> None:
    assert parse_subject("[RFC PATCH v2 1/2] x").is_rfc
    assert parse_subject("[PATCH RESEND 1/2] x").is_resend
    assert not parse_subject("[PATCH 1/2] x").is_resend
