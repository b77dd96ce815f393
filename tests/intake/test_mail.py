from __future__ import annotations

import base64
from pathlib import Path

import pytest

from reviewtool.errors import InputError
from reviewtool.intake.mail import Source, parse_mail, read_sources

HEADERS = (
    b"From: Ann Author <ann@example.org>\n"
    b"Subject: [PATCH 1/1] mm: one\n"
    b"Date: Fri, 15 Jan 2021 12:08:38 -0500\n"
    b"Message-Id: <one@example.org>\n"
)


def _mail(raw: bytes) -> object:
    return parse_mail(raw, origin="t", index=1)


def test_quoted_printable_with_crlf_inside() -> None:
    raw = (
        HEADERS + b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: quoted-printable\n\n"
        b"is_swap_pte()=3D=3Dtrue means one of=0D\n=0D\nsoft=\n break=0D\n"
    )
    mail = parse_mail(raw, origin="t", index=1)
    assert mail.body == "is_swap_pte()==true means one of\n\nsoft break\n"
    assert mail.problem == ""


def test_base64_body_and_rfc2047_name() -> None:
    body = base64.encodebytes("Signed-off-by: Zoë Müller <zoe@example.org>\n".encode())
    raw = (
        b"From: =?UTF-8?q?Zo=C3=AB=20M=C3=BCller?= <zoe@example.org>\n"
        b"Subject: =?UTF-8?B?W1BBVENIXSBtbTogw6k=?=\n"
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + body
    )
    mail = parse_mail(raw, origin="t", index=1)
    assert mail.from_name == "Zoë Müller"
    assert mail.subject == "[PATCH] mm: é"
    assert "Zoë Müller" in mail.body


def test_raw_utf8_headers_are_read_as_utf8() -> None:
    """Mailers that do not encode headers send them as raw UTF-8; Cc lists too."""
    raw = (
        "From: Jörg Rödel <joro@example.org>\nSubject: [PATCH] iommu: café\n"
        "Cc: Zoë <zoe@example.org>, =?utf-8?q?M=C3=BCller?= <m@example.org>\n"
        "Message-Id: <r@example.org>\n\nbody\n"
    ).encode()
    mail = parse_mail(raw, origin="t", index=1)
    assert (mail.from_name, mail.subject) == ("Jörg Rödel", "[PATCH] iommu: café")
    assert mail.cc == ("Zoë <zoe@example.org>", "Müller <m@example.org>")


@pytest.mark.parametrize(
    ("subject", "shown"),
    [
        # RFC 2047: whitespace between adjacent words goes, around text it stays
        (b"[PATCH] =?utf-8?q?a?=\n =?iso-8859-1?q?b=E9?= c", "[PATCH] abé c"),
        # an unencoded run keeps its backslashes (the stdlib's decode_header would make `A`)
        (b"[PATCH] \\u0041 =?utf-8?q?b?=", "[PATCH] \\u0041 b"),
        (b"[PATCH] caf\xc3\xa9 =?utf-8?b?w6k=?=", "[PATCH] café é"),
        (b"[PATCH] =?utf-8*en?Q?a_b?=", "[PATCH] a b"),
        (b"[PATCH] =?utf-8?b?eAAAA?=", "[PATCH] =?utf-8?b?eAAAA?="),  # not base64: kept
        (b"[PATCH] caf\xe9", "[PATCH] caf\ufffd"),  # raw bytes that are not UTF-8
    ],
)
def test_encoded_words(subject: bytes, shown: str) -> None:
    mail = parse_mail(b"From: a@b\nSubject: " + subject + b"\n\nbody\n", origin="t", index=1)
    assert mail.subject == shown


def test_latin1_charset_and_crlf_mail() -> None:
    raw = (
        HEADERS + b"Content-Type: text/plain; charset=iso-8859-1\n"
        b"Content-Transfer-Encoding: 8bit\n\nJos\xe9 wrote this\n"
    ).replace(b"\n", b"\r\n")
    mail = parse_mail(raw, origin="t", index=1)
    assert mail.body == "José wrote this\n"
    assert mail.subject == "[PATCH 1/1] mm: one"


def test_undecodable_bytes_never_crash() -> None:
    raw = HEADERS.replace(b"Ann Author", b"Ann \xff\xfe") + b"\nbody \xff\xfe bytes\n"
    mail = parse_mail(raw, origin="t", index=1)
    assert "\ufffd" in mail.body
    assert mail.from_email == "ann@example.org"


def test_unknown_charset_falls_back_to_utf8() -> None:
    raw = HEADERS + b"Content-Type: text/plain; charset=x-unheard-of\n\nplain\n"
    assert parse_mail(raw, origin="t", index=1).body == "plain\n"


def test_folded_subject_and_threading_headers() -> None:
    raw = (
        b"From: a@example.org\nSubject: [PATCH 2/2] a long\n subject line\n"
        b"Message-Id: <2@x>\nIn-Reply-To: <0@x>\nReferences: <0@x>\n <1@x>\n\nbody\n"
    )
    mail = parse_mail(raw, origin="t", index=1)
    assert mail.subject == "[PATCH 2/2] a long subject line"
    assert mail.in_reply_to == "0@x"
    assert mail.references == ("0@x", "1@x")


def test_broken_mime_is_a_problem_not_a_crash() -> None:
    no_boundary = HEADERS + b'Content-Type: multipart/mixed; boundary="zzz"\n\nno parts\n'
    assert "boundary" in parse_mail(no_boundary, origin="t", index=1).problem
    bad_base64 = HEADERS + b"Content-Transfer-Encoding: base64\n\n!!!! not base64 ****\nQQ\n"
    assert "base64" in parse_mail(bad_base64, origin="t", index=1).problem


def test_multipart_patch_attachment() -> None:
    raw = (
        HEADERS + b'Content-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nThe message.\n"
        b"--b\nContent-Type: text/x-patch; name=a.patch\n"
        b"Content-Disposition: attachment; filename=a.patch\n\n"
        b"diff --git a/a b/a\n--b--\n"
    )
    mail = parse_mail(raw, origin="t", index=1)
    assert "The message." in mail.body and "diff --git a/a b/a" in mail.body


def _mbox(*bodies: bytes, separator: bytes = b"From mboxrd@z Thu Jan  1 00:00:00 1970") -> bytes:
    return b"".join(separator + b"\n" + HEADERS + b"\n" + body + b"\n" for body in bodies)


def test_mboxrd_split_and_unquote(tmp_path: Path) -> None:
    path = tmp_path / "s.mbox"
    path.write_bytes(_mbox(b"first\n>From the body\n>>From deeper\n", b"second\n"))
    mails = read_sources([Source(str(path), path)])
    assert [m.body.splitlines()[0] for m in mails] == ["first", "second"]
    assert mails[0].body.splitlines()[1:] == ["From the body", ">From deeper"]
    assert [m.index for m in mails] == [1, 2]


def test_format_patch_separator_and_body_from_line(tmp_path: Path) -> None:
    sep = b"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001"
    data = _mbox(b"Body line\nFrom here on it's text, not a separator.\n", separator=sep)
    mails = read_sources([Source("p.patch", data=data)])
    assert len(mails) == 1
    assert "From here on" in mails[0].body


def test_single_message_file_and_stdin() -> None:
    mails = read_sources([Source("<stdin>", data=HEADERS + b"\nbody\n")])
    assert len(mails) == 1 and mails[0].message_id == "one@example.org"


def test_maildir_and_directory(tmp_path: Path) -> None:
    maildir = tmp_path / "md"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "cur" / "1").write_bytes(HEADERS + b"\none\n")
    (maildir / "new" / "2").write_bytes(HEADERS.replace(b"<one@", b"<two@") + b"\ntwo\n")
    assert len(read_sources([Source("md", maildir)])) == 2
    patches = tmp_path / "patches"
    patches.mkdir()
    (patches / "0002-b.patch").write_bytes(HEADERS.replace(b"<one@", b"<b@") + b"\nb\n")
    (patches / "0001-a.patch").write_bytes(HEADERS.replace(b"<one@", b"<a@") + b"\na\n")
    mails = read_sources([Source("patches", patches)])
    assert [m.message_id for m in mails] == ["a@example.org", "b@example.org"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"\n\n  \n", "empty file"),
        (b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4, "binary data"),
        (b"just some prose\nwith no headers\n", "no mail headers"),
    ],
)
def test_unreadable_input_is_one_line_error(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        read_sources([Source("in.mbox", data=data)])
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_sources([Source("nope", tmp_path / "nope")])


def test_truncated_headers() -> None:
    mails = read_sources(
        [
            Source(
                "t",
                data=_mbox(b"ok\n")
                + b"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: a@b\nSubject: [PATCH 2/2] cut",
            )
        ]
    )
    assert mails[1].problem.startswith("truncated")
