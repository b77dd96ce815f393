"""Property tests of reviewtool.intake.linemap.map_message: any bytes and any generated message
are numbered without an exception, and every number is a line of the input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reviewtool.intake.linemap import MessageLines, map_message
from tests.fuzz.strategies import (
    FileDiff,
    Generated,
    clean_diffs,
    messages,
    mime_messages,
    patch_text,
)


def _check_lines(lines: MessageLines, raw: bytes) -> None:
    """Numbers are lines of the input; a base64 body's decoded lines are numbered on from
    where the body starts (linemap's docstring), so they may run past the input's end."""
    total = len(raw.split(b"\n"))
    if b"base64" in raw.lower():
        total = max([total, *(line.number for line in lines.body)])
    assert 0 <= lines.subject <= total
    assert all(1 <= line.number <= total for line in lines.body)
    assert 1 <= lines.message_end <= total + 1
    for number in (*lines.added.values(), *lines.context.values(), *lines.files.values()):
        assert 1 <= number <= total
    # the lookups that b4check.locate() uses never raise either
    lines.text_of(lines.subject)
    lines.trailer("Signed-off-by:")
    lines.diffstat_summary()


@given(st.binary(max_size=3000))
def test_any_bytes_are_numbered(raw: bytes) -> None:
    _check_lines(map_message(raw), raw)


@given(messages())
def test_any_message_is_numbered(raw: bytes) -> None:
    _check_lines(map_message(raw), raw)


@given(mime_messages(min_depth=10, max_depth=100))
def test_deep_nesting_is_numbered(message: Generated) -> None:
    _check_lines(map_message(message.raw), message.raw)


@given(clean_diffs(), st.booleans())
def test_added_lines_point_at_their_plus_lines(files: list[FileDiff], crlf: bool) -> None:
    body = patch_text("Do it.", files)
    raw = f"From: a@b.org\nSubject: [PATCH] x\n\n{body}".encode()
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")
    lines = map_message(raw)
    _check_lines(lines, raw)
    text = raw.decode().replace("\r\n", "\n").split("\n")
    for (path, _), number in lines.added.items():
        assert text[number - 1].startswith("+")
        assert path in {f.path for f in files}
