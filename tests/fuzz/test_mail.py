"""Property tests of reviewtool.intake.mail: any bytes split into messages or an InputError,
and every message decodes into a Mail (a broken one says so in `problem`), never a crash."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from reviewtool.errors import InputError
from reviewtool.intake.mail import (
    MAX_MIME_DEPTH,
    MAX_REFERENCES,
    Mail,
    Source,
    parse_mail,
    read_sources,
    split_messages,
)
from tests.fuzz.strategies import (
    Generated,
    charsets,
    encoded_words,
    header_values,
    messages,
    mime_messages,
)

_SUBJECT_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def _check_mail(mail: Mail) -> None:
    assert isinstance(mail, Mail)
    assert not _SUBJECT_CONTROLS.search(mail.subject)  # one line, no terminal controls
    assert mail.subject == mail.subject.strip()
    assert len(mail.references) <= MAX_REFERENCES
    for text in (mail.message_id, mail.in_reply_to, *mail.references):
        assert isinstance(text, str)
    assert isinstance(mail.body, str) and isinstance(mail.problem, str)


@given(st.binary(max_size=3000))
def test_split_messages_of_any_bytes(data: bytes) -> None:
    try:
        found = list(split_messages("in.mbox", data))
    except InputError as error:
        assert error.message.startswith("in.mbox: ")
        return
    assert found
    for origin, raw in found:
        assert origin == "in.mbox" or origin.startswith("in.mbox#")
        assert isinstance(raw, bytes)


@given(messages())
def test_read_sources_gives_mails_or_an_input_error(data: bytes) -> None:
    try:
        mails = read_sources([Source("in.mbox", data=data)])
    except InputError as error:
        assert "\n" not in error.message
        return
    assert mails
    assert [m.index for m in mails] == list(range(1, len(mails) + 1))
    for mail in mails:
        _check_mail(mail)


@given(st.one_of(st.binary(max_size=3000), messages()))
def test_parse_mail_never_raises(raw: bytes) -> None:
    _check_mail(parse_mail(raw, origin="in.mbox", index=7))


@given(mime_messages(hostile=False))
def test_nesting_deeper_than_the_limit_is_broken_mime(message: Generated) -> None:
    mail = parse_mail(message.raw, origin="in.mbox", index=1)
    _check_mail(mail)
    if message.depth > MAX_MIME_DEPTH:
        assert mail.problem.startswith("broken MIME"), mail.problem
        assert mail.body == ""
    else:
        assert "nested deeper" not in mail.problem
    assert mail.message_id  # the headers are read either way: the series can name it


@given(
    subject=st.lists(st.one_of(encoded_words(charsets), header_values(charsets)), max_size=5),
    folded=st.booleans(),
)
def test_encoded_words_in_any_charset_decode_to_one_line(subject: list[str], folded: bool) -> None:
    value = ("\n " if folded else " ").join(subject)
    raw = f"From: {value} <a@b.org>\nSubject: {value}\nMessage-Id: <x@y>\n\nbody\n".encode(
        "utf-8", "surrogatepass"
    )
    mail = parse_mail(raw, origin="in.mbox", index=1)
    _check_mail(mail)
    assert "\n" not in mail.from_name


@given(
    count=st.one_of(st.integers(0, MAX_REFERENCES + 5), st.integers(0, 3000)),
    duplicates=st.booleans(),
)
def test_references_are_bounded(count: int, duplicates: bool) -> None:
    ids = [f"r{n % 7 if duplicates else n}@example.org" for n in range(count)]
    header = "References: " + "\n ".join(f"<{i}>" for i in ids)
    raw = f"From: a@b.org\nSubject: [PATCH] x\nMessage-Id: <x@y>\n{header}\n\nbody\n".encode()
    mail = parse_mail(raw, origin="in.mbox", index=1)
    assert len(mail.references) == min(count, MAX_REFERENCES)
    if count <= MAX_REFERENCES:
        assert mail.references == tuple(ids)
    else:  # the thread's root and the nearest ancestors are what threading needs
        assert mail.references[:10] == tuple(ids[:10])
        assert mail.references[-1] == ids[-1]
