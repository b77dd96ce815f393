from __future__ import annotations

import base64
import quopri

from reviewtool.intake.linemap import effective_encoding, map_message
from tests.builders import AUTHOR, Msg, patch_body

LONG = "x" * 90  # longer than a quoted-printable line may be: the encoder breaks it


def _message(body: str, **headers: str) -> str:
    return Msg("[PATCH 2/3] mm: thing", body, "m@example.org", headers=headers).render()


def _number(raw: str, text: str) -> int:
    """The 1-based line of raw whose text is `text`, found without reviewtool."""
    return raw.split("\n").index(text) + 1


def test_added_line_maps_to_its_plus_line_and_context_to_its_space_line() -> None:
    raw = _message(patch_body("mm/a.c", ["int z;", "int w; "]))
    lines = map_message(raw.encode())
    # The hunk is @@ -1,2 +1,4 @@: line 1 context, 2 and 3 added, 4 context.
    assert lines.post_image("mm/a.c", 3) == _number(raw, "+int w; ")
    assert lines.post_image("mm/a.c", 2) == _number(raw, "+int z;")
    assert lines.post_image("mm/a.c", 1) == _number(raw, " int x;")
    assert lines.post_image("mm/a.c", 9) is None
    assert lines.post_image("mm/b.c", 2) is None
    assert lines.files["mm/a.c"] == _number(raw, "diff --git a/mm/a.c b/mm/a.c")


def test_the_envelope_line_and_headers_are_counted() -> None:
    raw = _message(patch_body())
    assert raw.startswith("From mboxrd@z ")
    lines = map_message(raw.encode())
    assert lines.subject == 3
    assert lines.text_of(3) == "Subject: [PATCH 2/3] mm: thing"
    assert lines.trailer("Signed-off-by:") == _number(raw, f"Signed-off-by: {AUTHOR}")
    assert lines.message_end == _number(raw, "---")
    assert lines.in_message(lines.subject)
    assert not lines.in_message(lines.post_image("mm/a.c", 2) or 0)


def test_trailers_are_found_in_the_commit_message_only() -> None:
    body = patch_body(trailers="Fixes:   c397122c\nSigned-off-by: A <a@example.org>")
    raw = _message(body.replace("---\n", "---\nFixes: in the notes\n", 1))
    lines = map_message(raw.encode())
    assert lines.trailer("Fixes: c397122c") == _number(raw, "Fixes:   c397122c")
    assert lines.trailer("Fixes:") == _number(raw, "Fixes:   c397122c")
    assert lines.trailer("Reviewed-by:") is None


def test_crlf_numbers_are_the_lf_numbers() -> None:
    raw = _message(patch_body("mm/a.c", ["int z;", "int w; "]))
    plain = map_message(raw.encode())
    crlf = map_message(raw.replace("\n", "\r\n").encode())
    assert crlf.post_image("mm/a.c", 3) == plain.post_image("mm/a.c", 3)
    assert crlf.trailer("Signed-off-by:") == plain.trailer("Signed-off-by:")
    assert crlf.text_of(crlf.post_image("mm/a.c", 3) or 0) == "+int w; "


def test_quoted_printable_lines_map_to_their_encoded_lines() -> None:
    body = patch_body("mm/a.c", ["int z = 1;", f'char *s = "{LONG}";', "int w; "])
    encoded = quopri.encodestring(body.encode()).decode()
    raw = _message(encoded, **{"Content-Transfer-Encoding": "quoted-printable"})
    lines = map_message(raw.encode())
    # The long line was broken with a soft line break; it is numbered by its first part.
    first_part = next(line for line in raw.split("\n") if line.startswith("+char *s =3D"))
    assert first_part.endswith("=")
    assert lines.post_image("mm/a.c", 3) == _number(raw, first_part)
    assert lines.text_of(_number(raw, first_part)) == f'+char *s = "{LONG}";'
    # Lines after the broken one are still found where they are.
    assert lines.post_image("mm/a.c", 4) == _number(raw, "+int w;=20")
    assert lines.post_image("mm/a.c", 2) == _number(raw, "+int z =3D 1;")


def test_base64_lines_are_numbered_as_the_decoded_text_would_stand() -> None:
    body = patch_body("mm/a.c", ["int z;"])
    encoded = base64.encodebytes(body.encode()).decode()
    raw = _message(encoded, **{"Content-Transfer-Encoding": "base64"})
    lines = map_message(raw.encode())
    body_start = raw.split("\n").index("") + 2
    assert lines.post_image("mm/a.c", 2) == body_start + body.split("\n").index("+int z;")


def test_a_body_b4_already_decoded_keeps_its_own_numbers() -> None:
    # b4 feeds check commands the decoded body under the original encoding header.
    body = patch_body("mm/a.c", ["int z = 1;", "x =", "Zoë;"])
    for encoding in ("quoted-printable", "base64"):
        raw = _message(body, **{"Content-Transfer-Encoding": encoding})
        lines = map_message(raw.encode())
        assert lines.post_image("mm/a.c", 3) == _number(raw, "+x =")
        assert lines.text_of(_number(raw, "+Zoë;")) == "+Zoë;"


def test_effective_encoding() -> None:
    assert effective_encoding("base64", [b"aGVsbG8K", b""]) == "base64"
    assert effective_encoding("base64", [b"hello world"]) == "8bit"
    assert (
        effective_encoding("quoted-printable", [b"a =3D b", b"soft=", b"x=20"])
        == "quoted-printable"
    )
    assert effective_encoding("quoted-printable", [b"a = b"]) == "8bit"
    assert effective_encoding("quoted-printable", ["Zoë".encode()]) == "8bit"
    assert effective_encoding("", []) == "7bit"


def test_multipart_text_parts_are_mapped_inside_the_message() -> None:
    patch = patch_body("mm/a.c", ["int z;"])
    body = (
        "--XYZ\nContent-Type: text/plain\n\nPlease see the attachment.\n"
        "--XYZ\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\naGVsbG8K\n"
        '--XYZ\nContent-Type: text/x-diff; name="a.patch"\n'
        'Content-Disposition: attachment; filename="a.patch"\n\n'
        f"{patch}--XYZ--\n"
    )
    raw = _message(body, **{"Content-Type": 'multipart/mixed; boundary="XYZ"'})
    lines = map_message(raw.encode())
    assert lines.post_image("mm/a.c", 2) == _number(raw, "+int z;")
    assert all(line.text != "aGVsbG8K" for line in lines.body)


def test_a_multipart_header_over_a_plain_body_is_read_as_text() -> None:
    # What b4 feeds for multipart mail: the text, under the multipart headers.
    raw = _message(patch_body(), **{"Content-Type": 'multipart/mixed; boundary="XYZ"'})
    lines = map_message(raw.encode())
    assert lines.post_image("mm/a.c", 2) == _number(raw, "+int z;")


def test_a_mangled_hunk_does_not_lose_the_next_file() -> None:
    body = patch_body("mm/a.c", ["int z;"])
    second = "diff --git a/mm/b.c b/mm/b.c\n--- a/mm/b.c\n+++ b/mm/b.c\n@@ -1 +1,2 @@\n a\n+b\n"
    mangled = body.replace(" int y;\n", "").replace("-- \n", second + "-- \n")
    raw = _message(mangled)
    lines = map_message(raw.encode())
    assert lines.post_image("mm/b.c", 2) == _number(raw, "+b")


def test_deleted_and_renamed_files_are_found_by_their_paths() -> None:
    body = (
        "Move things.\n\nSigned-off-by: A <a@example.org>\n---\n"
        "diff --git a/mm/old.c b/mm/gone.c\nsimilarity index 100%\n"
        "rename from mm/old.c\nrename to mm/gone.c\n"
        "diff --git a/mm/dead.c b/mm/dead.c\ndeleted file mode 100644\n"
        "--- a/mm/dead.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-int dead;\n"
    )
    raw = _message(body)
    lines = map_message(raw.encode())
    assert lines.files["mm/gone.c"] == _number(raw, "diff --git a/mm/old.c b/mm/gone.c")
    assert lines.files["mm/dead.c"] == _number(raw, "diff --git a/mm/dead.c b/mm/dead.c")
