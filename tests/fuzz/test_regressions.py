"""Product bugs the property tests found, each as its smallest failing example.

An open one is a strict xfail (when its fix lands, strict turns the pass into a failure) and
the generators may exclude it only under a KNOWN_BUG_* name; a fixed one stays here as a
plain regression test. None is open.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewtool import config
from reviewtool.analysis.callers import Contract
from reviewtool.analysis.contracts import NULL, POINTER, ReturnType
from reviewtool.analysis.returnrules import load_return_rule, to_toml
from reviewtool.analysis.rules import load_rule
from reviewtool.errors import InputError
from reviewtool.intake.linemap import map_message
from reviewtool.intake.mail import Mail, parse_date, parse_mail
from reviewtool.intake.series import Series, build_series
from reviewtool.render.email import _date as email_date

PATCH = (
    "Do it.\n\nSigned-off-by: Ann Author <ann@example.org>\n---\n"
    "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
)


def _message(*headers: str, body: str = PATCH) -> bytes:
    fields = ["From: Ann Author <ann@example.org>", "Message-Id: <m@x>", *headers]
    return ("\n".join(fields) + "\n\n" + body).encode()


@pytest.mark.parametrize(
    "date",
    [
        "Fri, 15 Jan 2021 12:08:38 +99999999999999999999",
        "Fri, 15 Jan 99999999999999 12:08:38 +0000",
    ],
)
def test_a_date_too_large_for_c_is_no_date(date: str) -> None:
    """Found by test_series (OverflowError from parsedate_to_datetime: audit exit 4)."""
    raw = _message("Subject: [PATCH] x", f"Date: {date}")
    series = build_series([parse_mail(raw, origin="t", index=1)], keep_going=True)
    assert isinstance(series, Series)
    assert parse_date(date) is None
    assert email_date(date) == ""


def test_an_encoded_word_in_a_non_ascii_charset_is_not_fatal() -> None:
    """Found by test_mail (email.errors.CharsetError from make_header: exit 4). A charset
    Python cannot use decodes as UTF-8, as in a body."""
    raw = _message("Subject: =?\u00e9?B?eA==?= [PATCH] x")
    mail = parse_mail(raw, origin="t", index=1)
    assert isinstance(mail, Mail)
    assert mail.subject == "x [PATCH] x"


def test_cache_dir_of_an_unknown_user_is_an_input_error() -> None:
    """Found by test_options (RuntimeError from Path.expanduser: every command exit 4)."""
    output = b"reviewtool.cachedir\n~reviewtool-no-such-user/cache\0"
    with pytest.raises(InputError) as raised:
        config.parse(output)
    assert raised.value.message.startswith("git config reviewtool.cacheDir: cannot expand ")


def test_a_rule_key_with_a_line_break_gives_a_one_line_error(tmp_path: Path) -> None:
    """Found by test_rules (the key went into the message raw: two lines)."""
    rule = tmp_path / "rule.toml"
    rule.write_text('id = "x"\ncases = {}\n"a\\nb" = 1\n', encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_rule(str(rule))
    assert raised.value.message.startswith(f"{rule}: ")
    assert "\n" not in raised.value.message
    assert '"a\\nb": unknown key' in raised.value.message


def test_to_toml_escapes_control_characters(tmp_path: Path) -> None:
    """Found by test_rules (rule infer wrote control characters raw; --rule refused the file)."""
    folio = ReturnType("pointer", "struct\nfolio *")
    written = Contract("f", "mm/a\x1bb.c", 1, frozenset({NULL}), frozenset({POINTER}), folio, folio)
    path = tmp_path / "returns.toml"
    path.write_text(to_toml([written]), encoding="utf-8")
    _, (read,) = load_return_rule(str(path))
    assert (read.path, read.type_after.text) == ("mm/a\x1bb.c", "struct folio *")


@pytest.mark.parametrize("charset", ["idna", "undefined"])
def test_linemap_survives_charsets_that_refuse_replace(charset: str) -> None:
    """Found by test_linemap (UnicodeError, exit 4 from check-patch); fixed in 44a4a91."""
    raw = _message("Subject: [PATCH] x", f"Content-Type: text/plain; charset={charset}")
    lines = map_message(raw)
    assert [line.text for line in lines.body][:1] == ["Do it."]


@pytest.mark.parametrize(
    ("target", "reason"),
    [("/dev/zero", "not a regular file"), (".", "not a regular file"), ("no.toml", "no such file")],
)
def test_extends_of_no_file_names_the_rule_and_the_key(
    tmp_path: Path, target: str, reason: str
) -> None:
    """Found by benchmarks/fuzz.py: the error named only `/dev/zero`, not which rule said so."""
    rule = tmp_path / "rule.toml"
    rule.write_text(f'id = "x"\nextends = ["{target}"]\n[cases.a]\n', encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_rule(str(rule))
    assert raised.value.message.startswith(f"{rule}: extends: {target!r}: {reason}")
