"""Property tests of reviewtool.intake.patch.parse_patch: a valid generated patch is read back
exactly; a corrupted one (wrong hunk counts, lost or repeated lines, binary markers, renames,
absurd line numbers, hostile paths) gives a Patch or an InputError naming the message."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reviewtool.errors import InputError
from reviewtool.intake.mail import Mail
from reviewtool.intake.patch import Patch, parse_patch, unsafe_path
from tests.fuzz.strategies import (
    FileDiff,
    clean_diffs,
    hostile_paths,
    hostile_text,
    mail,
    mutate,
    one_line,
    patch_bodies,
    patch_text,
)


def _parse(message: Mail) -> Patch | None:
    """The Patch, or None after checking the InputError is the one-line corrupt-diff error."""
    try:
        patch = parse_patch(message)
    except InputError as error:
        assert error.message.startswith(message.where + ": corrupt diff: ")
        assert "\n" not in error.message
        return None
    assert isinstance(patch, Patch)
    for change in patch.files:
        assert change.added >= 0 and change.removed >= 0
        assert isinstance(unsafe_path(change.path), str)
        assert isinstance(unsafe_path(change.old_path), str)
    return patch


@given(clean_diffs(), st.booleans())
def test_a_valid_patch_is_read_back(files: list[FileDiff], in_body_from: bool) -> None:
    body = patch_text("Do the thing.", files)
    if in_body_from:  # git mailinfo's in-body From: wins over the mail's
        body = "From: Bob Other <bob@example.org>\n\n" + body
    patch = _parse(mail(body))
    assert patch is not None
    assert [(f.path, f.status, f.added, f.removed) for f in patch.files] == [
        (f.path, f.status, f.added, f.removed) for f in files
    ]
    assert patch.diffstat is not None
    assert [e.path for e in patch.diffstat.entries] == [f.path for f in files]
    assert patch.diffstat.insertions == patch.insertions
    assert patch.diffstat.deletions == patch.deletions
    assert [t.name for t in patch.trailers] == ["Signed-off-by"]
    assert patch.author.email == ("bob@example.org" if in_body_from else "ann@example.org")


@given(patch_bodies(mutated=True))
def test_a_corrupted_patch_gives_a_patch_or_an_input_error(body: str) -> None:
    _parse(mail(body))


@given(clean_diffs(), hostile_paths, hostile_paths)
def test_hostile_paths_in_the_headers(files: list[FileDiff], old: str, new: str) -> None:
    diff = files[0].text.replace(f"a/{files[0].path}", f"a/{old}")
    diff = diff.replace(f"b/{files[0].path}", f"b/{new}")
    _parse(mail(patch_text("Rename.", [files[0]]).replace(files[0].text, diff)))


@given(st.data())
def test_mutations_of_a_valid_diff(data: st.DataObject) -> None:
    files = data.draw(clean_diffs())
    body = mutate(data.draw, patch_text("Edit.", files))
    _parse(mail(body, subject=one_line(data.draw(hostile_text(40)))))


@given(hostile_text(2000))
def test_any_body_gives_a_patch_or_an_input_error(body: str) -> None:
    _parse(mail(body))
