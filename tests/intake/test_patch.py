"""Patch splitting and diff parsing, on patches made by real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reviewtool.errors import MessageError
from reviewtool.intake.mail import Source, parse_mail, read_sources
from reviewtool.intake.patch import Patch, parse_patch, stat_path
from tests.helpers import git_numstat


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, check=True, text=True
    ).stdout


@pytest.fixture
def shuffle_patch(tmp_path: Path) -> bytes:
    """A real format-patch with a rename, a new, a deleted, a binary and a mode-changed file."""
    repo = tmp_path / "repo"
    (repo / "mm").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.name", "Ann Author")
    _git(repo, "config", "user.email", "ann@example.org")
    (repo / "mm" / "old.c").write_text("".join(f"int v{i};\n" for i in range(8)))
    (repo / "gone.c").write_text("x\n")
    (repo / "run.sh").write_text("#!/bin/sh\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "mv", "mm/old.c", "mm/new.c")
    text = (repo / "mm" / "new.c").read_text().replace("int v3;", "int v33;")
    (repo / "mm" / "new.c").write_text(text)
    _git(repo, "rm", "-q", "gone.c")
    (repo / "mm" / "fresh.c").write_text("static int fresh(void)\n{\n\treturn 0;\n}\n")
    (repo / "run.sh").chmod(0o755)
    (repo / "blob.bin").write_bytes(b"\x1f\x8b\x08\x00\x00\x00" + bytes(range(256)))
    _git(repo, "add", "-A")
    message = (
        "mm: shuffle files\n\nMove old.c to new.c and add a blob.\n\n"
        'Fixes: 0123456789ab ("mm: the old one")\n'
        "Reviewed-by: Rev Iewer <rev@example.org>\n"
        "Signed-off-by: Ann Author <ann@example.org>\n"
    )
    _git(repo, "commit", "-qm", message)
    out = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "format-patch",
            "-1",
            "-M",
            "--binary",
            "--stdout",
            "--base=HEAD~1",
        ],
        capture_output=True,
        check=True,
    ).stdout
    # Add notes below the --- line, as submitters write their changelog there.
    return out.replace(b"\n---\n", b"\n---\nv2: rebased\n\n", 1)


def _patch(data: bytes) -> Patch:
    (mail,) = read_sources([Source("p.patch", data=data)])
    return parse_patch(mail)


def test_diff_files_match_git(shuffle_patch: bytes) -> None:
    patch = _patch(shuffle_patch)
    by_path = {f.path: f for f in patch.files}
    assert by_path["mm/new.c"].status == "renamed"
    assert by_path["mm/new.c"].old_path == "mm/old.c"
    assert by_path["mm/fresh.c"].status == "added"
    assert by_path["gone.c"].status == "deleted"
    assert by_path["blob.bin"].binary
    assert (by_path["run.sh"].old_mode, by_path["run.sh"].new_mode) == ("100644", "100755")
    numstat = {p: (a, r) for a, r, p in git_numstat(shuffle_patch)}
    for change in patch.files:
        expected = numstat[change.path if change.status != "renamed" else "mm/new.c"]
        got = (None, None) if change.binary else (change.added, change.removed)
        assert got == expected, change.path


def test_message_parts(shuffle_patch: bytes) -> None:
    patch = _patch(shuffle_patch)
    assert patch.commit_message.startswith("Move old.c to new.c")
    assert [t.name for t in patch.trailers] == ["Fixes", "Reviewed-by", "Signed-off-by"]
    assert str(patch.trailers_named("Signed-off-by")[0].person) == "Ann Author <ann@example.org>"
    assert patch.notes.startswith("v2: rebased")
    assert "base-commit" not in patch.commit_message
    assert len(patch.base_commit) == 40
    assert patch.diffstat is not None
    stat = patch.diffstat
    assert (stat.files_changed, stat.insertions, stat.deletions) == (5, 5, 2)
    assert {e.path for e in stat.entries} == {f.path for f in patch.files}
    assert next(e for e in stat.entries if e.path == "blob.bin").changes is None


def test_hunk_function_context_and_added_lines() -> None:
    data = (
        b"""From: A <a@example.org>
Subject: [PATCH] mm: x

Signed-off-by: A <a@example.org>
---
diff --git a/mm/memory.c b/mm/memory.c
--- a/mm/memory.c
+++ b/mm/memory.c
@@ -10,3 +10,4 @@ static int copy_pte_range(struct vm_area_struct *vma)
 \tif (is_swap_pte(pte))
+\t\treturn 0;
 \t\tgoto out;
 out:
"""
        + b"-- \n2.39.5\n"
    )
    patch = _patch(data)
    (change,) = patch.files
    (hunk,) = change.hunks
    assert hunk.function == "static int copy_pte_range(struct vm_area_struct *vma)"
    assert [(a.line, a.text) for a in hunk.added] == [(11, "\t\treturn 0;")]
    assert hunk.trailing_context == 2


def test_in_body_from_overrides_author() -> None:
    data = b"""From: Sender <sender@example.org>
Subject: [PATCH 1/2] mm: y

From: Real Author <real@example.org>

Body.

Signed-off-by: Real Author <real@example.org>
"""
    patch = _patch(data)
    assert str(patch.author) == "Real Author <real@example.org>"
    assert patch.commit_message.startswith("Body.")


def test_corrupt_diff_names_the_message() -> None:
    data = b"""From: A <a@example.org>
Subject: [PATCH 2/3] mm: z
Message-Id: <z@example.org>

Signed-off-by: A <a@example.org>
---
diff --git a/a.c b/a.c
--- a/a.c
+++ b/a.c
@@ -1,5 +1,6 @@
 x
+y
"""
    mail = parse_mail(data, origin="s.mbox#3", index=3)
    with pytest.raises(MessageError) as caught:
        parse_patch(mail)
    assert caught.value.message == (
        's.mbox#3: message 3 <z@example.org> "[PATCH 2/3] mm: z": corrupt diff: '
        "a hunk is shorter than its @@ header says (truncated or mangled)"
    )


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("mm/{old.c => new.c}", "mm/new.c"),
        ("a.c => b.c", "b.c"),
        ("{a => b}/c.c", "b/c.c"),
        ("mm/{ => sub}/x.c", "mm/sub/x.c"),
        (".../long/path.c", ".../long/path.c"),
    ],
)
def test_stat_path(text: str, path: str) -> None:
    assert stat_path(text) == path


@pytest.mark.parametrize(
    ("context", "name"),
    [
        ("static int copy_pte_range(struct vm_area_struct *vma)", "copy_pte_range"),
        (
            "void pgtable_demo_zap_pte_range(struct mm_struct *mm, pte_t *ptep,",
            "pgtable_demo_zap_pte_range",
        ),
        ("struct foo {", ""),
        ("\tif (is_swap_pte(pte)) {", "is_swap_pte"),
        ("", ""),
    ],
)
def test_function_name(context: str, name: str) -> None:
    from reviewtool.intake.patch import function_name

    assert function_name(context) == name
