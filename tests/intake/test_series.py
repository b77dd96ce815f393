from __future__ import annotations

from reviewtool.intake.mail import Source, read_sources
from reviewtool.intake.series import Series, build_series
from tests.builders import Msg, mbox, patch_body, series


def _build(msgs: list[Msg], **options: object) -> Series:
    mails = read_sources([Source("t.mbox", data=mbox(msgs))])
    return build_series(mails, **options)  # type: ignore[arg-type]


def test_well_formed_series() -> None:
    built = _build(series(3))
    assert built.cover is not None and built.cover.number == 0
    assert [p.number for p in built.patches] == [1, 2, 3]
    assert built.expected == 3 and built.missing == () and built.duplicates == ()
    assert built.files == ("mm/f1.c", "mm/f2.c", "mm/f3.c")


def test_order_comes_from_counters_not_input_order() -> None:
    msgs = series(3)
    built = _build([msgs[3], msgs[0], msgs[2], msgs[1]])
    assert [p.number for p in built.patches] == [1, 2, 3]


def test_missing_and_duplicate() -> None:
    msgs = series(4)
    resent = Msg(
        msgs[2].subject,
        msgs[2].body,
        "resent@example.org",
        in_reply_to="s-0@example.org",
        date="Fri, 15 Jan 2021 13:00:00 -0500",
    )
    built = _build([msgs[0], msgs[1], msgs[2], resent, msgs[4]])
    assert built.missing == (3,)
    assert [p.message_id for p in built.patches] == [
        "s-1@example.org",
        "resent@example.org",
        "s-4@example.org",
    ]
    assert [d.message_id for d in built.duplicates] == ["s-2@example.org"]


def test_late_patch_with_foreign_message_id_is_tied_by_threading() -> None:
    msgs = series(2)
    late = Msg(
        "[PATCH 3/2] mm: one more",
        patch_body("mm/late.c"),
        "20210115171226.1-x@other",
        in_reply_to="s-0@example.org",
    )
    built = _build([*msgs, late])
    assert [p.number for p in built.patches] == [1, 2, 3]


def test_other_thread_is_skipped() -> None:
    main = series(3)
    stray = series(1, cover=False, tag="other")
    stray[0].in_reply_to = "unrelated-root@example.org"
    built = _build([*main, *stray])
    assert [p.message_id for p in built.patches] == [f"s-{n}@example.org" for n in (1, 2, 3)]
    assert [(s.mail.message_id, s.reason) for s in built.skipped] == [
        ("other-1@example.org", "another thread")
    ]


def test_mixed_revisions_newest_or_chosen() -> None:
    msgs = series(2, tag="a") + series(2, revision=2, tag="b")
    newest = _build(msgs)
    assert newest.revision == 2 and newest.revisions_seen == (1, 2)
    assert newest.revision_chosen_by == "newest"
    assert [p.message_id for p in newest.patches] == ["b-1@example.org", "b-2@example.org"]
    chosen = _build(msgs, revision=1)
    assert [p.message_id for p in chosen.patches] == ["a-1@example.org", "a-2@example.org"]


def test_replies_are_not_patches() -> None:
    msgs = series(2)
    reply = Msg(
        "Re: [PATCH 1/2] mm: thing 1",
        "Reviewed-by: R <r@example.org>\n",
        "re@x",
        in_reply_to="s-1@example.org",
    )
    built = _build([*msgs, reply])
    assert len(built.patches) == 2
    assert built.skipped[0].reason == "a reply"


def test_cover_by_diffstat_without_counter() -> None:
    msgs = series(2)
    msgs[0].subject = "[PATCH] mm: things"  # a cover letter without 0/N
    built = _build(msgs)
    assert built.cover is not None and built.cover.message_id == "s-0@example.org"


def test_unnumbered_single_patch() -> None:
    built = _build([Msg("[PATCH] mm: one", patch_body(), "one@x")])
    assert built.cover is None and built.expected == 1
    assert [p.number for p in built.patches] == [1]
