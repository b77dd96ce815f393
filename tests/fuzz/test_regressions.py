"""Product bugs the property tests found, each as its smallest failing example.

The open ones are strict xfails: when a fix lands the test passes, strict turns that into a
failure, and the xfail mark comes off together with the matching KNOWN_BUG_* exclusion in
the generators (strategies.py, test_rules.py, test_options.py). The fixed ones stay as plain
regression tests.
"""

from __future__ import annotations

import email.errors
from pathlib import Path

import pytest

from reviewtool import config
from reviewtool.analysis.callers import Contract
from reviewtool.analysis.contracts import NULL, POINTER, ReturnType
from reviewtool.analysis.returnrules import load_return_rule, to_toml
from reviewtool.analysis.rules import load_rule
from reviewtool.errors import InputError
from reviewtool.intake.linemap import map_message
from reviewtool.intake.mail import Mail, parse_mail
from reviewtool.intake.series import Series, build_series
from tests.fuzz.strategies import KNOWN_BUG_DATE_OFFSET, KNOWN_BUG_WORD_CHARSET

PATCH = (
    "Do it.\n\nSigned-off-by: Ann Author <ann@example.org>\n---\n"
    "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
)


def _message(*headers: str, body: str = PATCH) -> bytes:
    fields = ["From: Ann Author <ann@example.org>", "Message-Id: <m@x>", *headers]
    return ("\n".join(fields) + "\n\n" + body).encode()


@pytest.mark.xfail(
    strict=True,
    raises=OverflowError,
    reason="series._sent_at() catches TypeError/ValueError/IndexError, but "
    "email.utils.parsedate_to_datetime() raises OverflowError for a huge zone offset: "
    "audit and check-patch exit 4 (b4-check: 'internal error: OverflowError')",
)
def test_a_date_with_a_huge_offset_is_not_fatal() -> None:
    raw = _message("Subject: [PATCH] x", f"Date: {KNOWN_BUG_DATE_OFFSET}")
    series = build_series([parse_mail(raw, origin="t", index=1)], keep_going=True)
    assert isinstance(series, Series)


@pytest.mark.xfail(
    strict=True,
    raises=email.errors.CharsetError,
    reason="mail.decode_words() catches HeaderParseError/LookupError/UnicodeError/ValueError, "
    "but email.header.make_header() raises email.errors.CharsetError for an encoded word whose "
    "charset name is not ASCII: parse_mail() raises, the CLI exits 4",
)
def test_an_encoded_word_in_a_non_ascii_charset_is_not_fatal() -> None:
    raw = _message(f"Subject: {KNOWN_BUG_WORD_CHARSET} [PATCH] x")
    assert isinstance(parse_mail(raw, origin="t", index=1), Mail)


@pytest.mark.xfail(
    strict=True,
    raises=RuntimeError,
    reason="config._path() calls Path(value).expanduser(), which raises RuntimeError ('Could "
    "not determine home directory') for ~user when there is no such user: every command "
    "run in a repository with that reviewtool.cacheDir exits 4",
)
def test_cache_dir_of_an_unknown_user_is_a_setting_or_an_input_error() -> None:
    output = b"reviewtool.cachedir\n~reviewtool-no-such-user/cache\0"
    try:
        config.parse(output)
    except InputError as error:
        assert error.message.startswith("git config reviewtool.cacheDir: ")


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="rules.validate() and rules._fields() put an unknown key into the InputError as it "
    "is: a quoted TOML key holding a line break makes the one-line message two lines (the CLI "
    "escapes it on stderr; the message itself is not one line)",
)
def test_a_rule_key_with_a_line_break_gives_a_one_line_error(tmp_path: Path) -> None:
    rule = tmp_path / "rule.toml"
    rule.write_text('id = "x"\ncases = {}\n"a\\nb" = 1\n', encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_rule(str(rule))
    assert raised.value.message.startswith(f"{rule}: ")
    assert "\n" not in raised.value.message


@pytest.mark.xfail(
    strict=True,
    raises=InputError,
    reason="returnrules._quoted() escapes only backslash and double quote, so a control "
    "character (a type split over two lines in the C source, a path with ESC) is written raw "
    "into a TOML string, which TOML forbids: `rule infer` writes a file `--rule` refuses",
)
def test_to_toml_escapes_control_characters(tmp_path: Path) -> None:
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
