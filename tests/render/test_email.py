"""--format email: the reply a kernel bot sends, its threading headers, its body, and that
nothing from the original mail can add a header."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import mailbox
import os
import re
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest

from reviewtool.findings import BuildFacts, Finding, Location, Severity
from reviewtool.intake.mail import Source
from reviewtool.render import RenderOptions, render
from reviewtool.render.email import diff_excerpt, reply_subject
from reviewtool.report import Report
from reviewtool.review import AuditOptions, run
from tests.builders import Msg, mbox, patch_body, series
from tests.conftest import FIXTURES
from tests.helpers import run_cli

DEMO = FIXTURES / "demo" / "demo.mbox"
DATE = "Tue, 11 Mar 2025 10:00:00 +0000"
BOT = "Review Bot <bot@example.net>"
OPTIONS = RenderOptions(email_from=BOT, email_date=DATE, inbox_url="https://lore.example.org/mm")
COVER = "20250310083512.11970-1-arjun.raghavan@example.com"


def _demo() -> Report:
    return run([Source("demo.mbox", DEMO)], AuditOptions())


def _parse(text: str) -> EmailMessage:
    message = email.message_from_bytes(text.encode("utf-8"), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _masked(report: Report, text: str) -> str:
    # The version, and the number of series rules (other rules may be added later).
    text = re.sub(re.escape(report.tool_version), "VERSION", text)
    return re.sub(r"\b\d+ series rules\b", "N series rules", text)


@pytest.mark.parametrize(
    ("reply_to", "golden"),
    [("cover", "demo-ref-email.eml"), ("patch", "demo-ref-email-patch.mbox")],
)
def test_demo_golden(reply_to: str, golden: str) -> None:
    report = _demo()
    text = _masked(report, render(report, "email", dataclasses.replace(OPTIONS, reply_to=reply_to)))
    path = FIXTURES / "demo" / golden
    if os.environ.get("REVIEWTOOL_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_reply_headers_thread_under_the_cover() -> None:
    message = _parse(render(_demo(), "email", OPTIONS))
    assert message["From"] == BOT
    assert message["To"] == "Arjun Raghavan <arjun.raghavan@example.com>"
    assert message["Cc"].addresses[0].addr_spec == "linux-mm@lists.example.org"
    assert message["Subject"] == (
        "Re: [PATCH v2 0/3] mm/pgtable_demo: teach the pte helpers about marker ptes"
    )
    assert message["In-Reply-To"] == f"<{COVER}>"
    assert message["References"] == f"<{COVER}>"
    assert message["Date"] == DATE
    assert re.fullmatch(r"<reviewtool-[0-9a-f]{20}@example\.net>", message["Message-Id"])
    assert message.get_content_type() == "text/plain"


def test_message_id_depends_on_content_and_date() -> None:
    report = _demo()
    first = _parse(render(report, "email", OPTIONS))["Message-Id"]
    assert _parse(render(report, "email", OPTIONS))["Message-Id"] == first
    later = dataclasses.replace(OPTIONS, email_date="Wed, 12 Mar 2025 10:00:00 +0000")
    assert _parse(render(report, "email", later))["Message-Id"] != first


def test_references_chain_and_no_re_re() -> None:
    report = _demo()
    patch = report.series.patches[1]
    assert patch.mail.references == (COVER,)
    text = render(report, "email", dataclasses.replace(OPTIONS, reply_to="patch"))
    messages = [_parse(str(m)) for m in mailbox.mbox(_write(text))]
    to_patch_2 = messages[0]
    assert to_patch_2["In-Reply-To"] == f"<{patch.message_id}>"
    # References: the original's In-Reply-To chain (here: the cover) and the original itself.
    assert to_patch_2["References"].split() == [f"<{COVER}>", f"<{patch.message_id}>"]
    assert reply_subject("Re: [PATCH] x") == "Re: [PATCH] x"
    assert reply_subject("RE:  [PATCH]\tx") == "Re: [PATCH] x"
    assert reply_subject("[PATCH] re: x") == "Re: [PATCH] re: x"


def _write(text: str) -> str:
    path = Path(os.environ["HOME"]) / "replies.mbox"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_per_patch_replies_are_an_mbox() -> None:
    report = _demo()
    text = render(report, "email", dataclasses.replace(OPTIONS, reply_to="patch"))
    assert text.startswith("From mboxrd@z Thu Jan  1 00:00:00 1970\n")
    messages = [_parse(str(m)) for m in mailbox.mbox(_write(text))]
    assert [m["In-Reply-To"] for m in messages] == [
        f"<{report.series.patches[1].message_id}>",
        f"<{report.series.patches[2].message_id}>",
    ]
    # Patch 3's author is not its sender: the greeting and Cc name her, To is the sender.
    third = messages[1]
    assert third.get_content().startswith("Hi Mei-Ling,\n")
    assert third["To"] == "Arjun Raghavan <arjun.raghavan@example.com>"
    assert "meiling.chou@example.org" in str(third["Cc"])
    assert "fixes-malformed" in third.get_content()
    assert "whitespace-trailing" not in third.get_content()
    assert len({m["Message-Id"] for m in messages}) == 2


def test_series_level_findings_go_to_the_cover_in_per_patch_mode() -> None:
    msgs = series(3)
    del msgs[2]  # patch 2 missing: a series-level error
    msgs[2].body = patch_body("mm/f3.c", ["int a; "])
    report = run([Source("t.mbox", data=mbox(msgs))], AuditOptions())
    text = render(report, "email", dataclasses.replace(OPTIONS, reply_to="patch"))
    messages = [_parse(str(m)) for m in mailbox.mbox(_write(text))]
    assert [m["In-Reply-To"] for m in messages] == ["<s-0@example.org>", "<s-3@example.org>"]
    assert "series-missing-patch" in messages[0].get_content()
    assert "whitespace-trailing" not in messages[0].get_content()


def test_cc_is_deduplicated_without_the_bot() -> None:
    msgs = series(1)
    msgs[1].body = patch_body("mm/f1.c", ["int a; "])
    msgs[0].headers = {
        "To": "list@example.org, Bob <bob@example.org>",
        "Cc": "BOB <Bob@Example.org>, Review Bot <BOT@example.net>, list@example.org, "
        'Ann Author <ann@example.org>, "Lindqvist, Henrik" <henrik@example.org>',
    }
    report = run([Source("t.mbox", data=mbox(msgs))], AuditOptions())
    message = _parse(render(report, "email", OPTIONS))
    assert message["To"] == "Ann Author <ann@example.org>"
    cc = [a.addr_spec for a in message["Cc"].addresses]
    assert cc == ["list@example.org", "bob@example.org", "henrik@example.org"]
    assert message["Cc"].addresses[2].display_name == "Lindqvist, Henrik"


def test_hostile_headers_cannot_inject() -> None:
    report = _demo()
    cover = report.series.cover
    assert cover is not None
    hostile = dataclasses.replace(
        cover.mail,
        subject="[PATCH 0/3] x\r\nBcc: evil@example.com",
        from_name="Eve\r\nBcc: evil2@example.com",
        message_id="a@b>\r\nBcc: evil3@example.com",
        references=("ok@example.org", "x\nBcc: evil4@example.com"),
        cc=("Mallory <m@example.org>\r\nBcc: evil5@example.com", "fine@example.org"),
        date="Mon, 10 Mar 2025 14:05:09 +0530\r\nBcc: evil6@example.com",
    )
    series_ = dataclasses.replace(report.series, cover=dataclasses.replace(cover, mail=hostile))
    text = render(dataclasses.replace(report, series=series_), "email", RenderOptions())
    head = text.split("\n\n", 1)[0]
    assert not re.search(r"^Bcc", head, re.MULTILINE | re.IGNORECASE)
    assert "evil3" not in head and "evil4" not in head and "evil5" not in head
    assert "evil6" not in head
    message = _parse(text)
    assert message["Bcc"] is None
    assert message["To"].addresses[0].display_name == "Eve Bcc: evil2@example.com"
    assert message["To"].addresses[0].addr_spec == "arjun.raghavan@example.com"
    assert message["Date"] == "Mon, 10 Mar 2025 14:05:09 +0530"
    assert message["Subject"] == "Re: [PATCH 0/3] x Bcc: evil@example.com"
    assert message["In-Reply-To"] is None  # not a usable Message-Id: no threading headers
    assert [a.addr_spec for a in message["Cc"].addresses][-1] == "fine@example.org"
    assert sorted(message.keys()) == sorted(
        ["From", "To", "Cc", "Subject", "Date", "Message-Id", "X-Mailer", "Content-Type",
         "Content-Transfer-Encoding", "MIME-Version"]
    )  # fmt: skip


def test_encoded_word_injection_through_the_mbox() -> None:
    msgs = series(1)
    msgs[0].subject = "=?utf-8?q?=5BPATCH_0/1=5D_x=0D=0ABcc:_evil@example.com?="
    msgs[1].body = patch_body("mm/f1.c", ["int a; "])
    report = run([Source("t.mbox", data=mbox(msgs))], AuditOptions())
    message = _parse(render(report, "email", OPTIONS))
    assert message["Bcc"] is None
    assert message["Subject"] == "Re: [PATCH 0/1] x Bcc: evil@example.com"


def test_non_ascii_names_and_subjects_are_encoded() -> None:
    msgs = series(1, cover=False)
    msgs[0].author = "=?utf-8?q?Zo=C3=AB_=C3=85ngstr=C3=B6m?= <zoe@example.org>"
    msgs[0].subject = "=?utf-8?q?=5BPATCH=5D_mm=3A_r=C3=A9sum=C3=A9?="
    msgs[0].body = patch_body("mm/f1.c", ["int a; "], trailers="Signed-off-by: Zoë <zoe@x.org>")
    report = run([Source("t.mbox", data=mbox(msgs))], AuditOptions())
    text = render(report, "email", OPTIONS)
    head = text.split("\n\n", 1)[0]
    assert head.isascii() and "=?utf-8?" in head
    assert all(len(line) <= 78 for line in head.splitlines())
    message = _parse(text)
    assert message["To"] == "Zoë Ångström <zoe@example.org>"
    assert message["Subject"] == "Re: [PATCH] mm: résumé"
    assert message["Content-Transfer-Encoding"] == "8bit"
    assert message.get_content().startswith("Hi Zoë,\n")


def test_clean_series_is_silent_unless_asked() -> None:
    report = run([Source("t.mbox", data=mbox(series(2)))], AuditOptions())
    assert report.findings == ()
    assert render(report, "email", OPTIONS) == ""
    message = _parse(render(report, "email", dataclasses.replace(OPTIONS, email_clean=True)))
    body = message.get_content()
    assert "found no issues at or above warning severity" in " ".join(body.split())
    assert "Reported-by" not in body
    assert message["In-Reply-To"] == "<s-0@example.org>"


def test_notes_alone_send_nothing() -> None:
    msgs = series(1)
    msgs.append(Msg("Re: [PATCH 1/1] mm: thing 1", "LGTM\n", "re@x", in_reply_to="s-1@example.org"))
    report = run([Source("t.mbox", data=mbox(msgs))], AuditOptions())
    assert [f.rule for f in report.findings] == ["series-ignored-message"]
    assert render(report, "email", OPTIONS) == ""


def test_body_shape_and_wrapping() -> None:
    report = _demo()
    body = _parse(render(report, "email", OPTIONS)).get_content()
    assert body.startswith("Hi Arjun,\n\nreviewtool noticed the following issues: 3 warnings.\n")
    assert (
        "If you fix the issue in a separate patch/commit (i.e. not just a new\n"
        "version of the same patch/commit), kindly add following tags\n"
        f"| Reported-by: {BOT}\n"
        "| Closes: https://lore.example.org/mm/reviewtool-"
    ) in body
    assert f"        b4 am -o - {COVER} > series.mbox\n" in body
    assert f"        reviewtool audit --inbox https://lore.example.org/mm {COVER}\n" in body
    assert "\n >    91\t+\t\t/* A marker carries no swap entry: just clear it. */ \n" in body
    assert "base-commit:   45d0b10e9799 (not applied: no tree given)" in body
    assert body.endswith("\n-- \nreviewtool " + report.tool_version + ": review assistant for "
                         "kernel patch series\n")  # fmt: skip
    prose = [
        line
        for line in body.splitlines()
        if not line.startswith((" ", "\t", ">", "|", "link:")) and "://" not in line
    ]
    assert prose and all(len(line) <= 72 for line in prose)
    assert not any(marker in body for marker in ("**", "```", "###"))


def test_diff_excerpt_marks_the_added_line() -> None:
    patch = _demo().series.patches[1]
    excerpt = diff_excerpt(patch.diff_text, "mm/pgtable_demo.c", 26, radius=1)
    assert excerpt == [
        "      25\t+\t\tif (pte_demo_is_marker(pte)) {",
        " >    26\t+\t\t\tstats->nr_marker++;",
        "      27\t+\t\t\tcontinue;",
    ]
    # Removed lines carry no number; a line the patch does not add has no excerpt.
    around = diff_excerpt(patch.diff_text, "mm/pgtable_demo.c", 46, radius=3)
    assert "\t-\tswp_entry_t entry = pte_demo_to_swp_entry(pte);" in "\n".join(around)
    assert diff_excerpt(patch.diff_text, "mm/pgtable_demo.c", 24) == []
    assert diff_excerpt(patch.diff_text, "mm/other.c", 26) == []


def test_build_and_call_site_findings_show_their_evidence() -> None:
    from reviewtool.git import TreeState
    from reviewtool.kbuild.builder import BuildCell, BuildResult
    from reviewtool.kbuild.diagnostics import Diagnostic

    report = _demo()
    diagnostic = Diagnostic(
        "mm/pgtable_demo.c", 92, 7, "warning", "-Wunused-variable", "unused variable 'x'",
        "pgtable_demo_zap_pte_range",
    )  # fmt: skip
    command = "make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O=out mm/pgtable_demo.o"
    cell = BuildCell(2, "arm64", "new_warnings", ("mm/pgtable_demo.o",), (diagnostic,),
                     toolchain="gcc", command=command)  # fmt: skip
    state = TreeState(path="linux", base="45d0b10e97990527974819b768e3acfad1bf66cb",
                      base_source="base-commit", applied=())  # fmt: skip
    build = Finding(
        rule="build", severity=Severity.WARNING, patch=2, path=diagnostic.path, line=92,
        column=7, message="arm64 (gcc): warning: unused variable 'x' [-Wunused-variable]",
        build=BuildFacts("arm64", "gcc", diagnostic.identity, command),
    )  # fmt: skip
    site = Finding(
        rule="pte-marker", severity=Severity.WARNING, patch=3, path="mm/walk.c", line=40,
        message="pte_to_swp_entry(pte) in walk(): a marker reaches it",
        evidence=(Location("mm/walk.c", 31, "is_swap_pte(pte) true"),
                  Location("mm/walk.c", 40, "pte_to_swp_entry(pte)")),
        context=(Location("mm/walk.c", 39, "\tif (!pte_present(pte))"),
                 Location("mm/walk.c", 40, "\t\tentry = pte_to_swp_entry(pte);")),
    )  # fmt: skip
    with_builds = dataclasses.replace(
        report,
        findings=(build, site),
        builds=BuildResult(state=state, cells=(cell,), arches=("arm64", "s390")),
    )
    body = _parse(render(with_builds, "email", OPTIONS)).get_content()
    assert "architectures: arm64 (gcc), s390 (not built)" in body
    assert "base:          45d0b10e9799 (the series' base-commit: line)" in body
    assert (
        "   mm/pgtable_demo.c: In function 'pgtable_demo_zap_pte_range':\n"
        "   mm/pgtable_demo.c:92:7: warning: unused variable 'x' [-Wunused-variable]\n"
    ) in body
    assert " >    92\t+\t\tif (pte_demo_is_marker(pte)) {" in body
    assert f"   reproduce:\n     {command}\n" in body
    assert f"\n        {command}\n" in body
    assert "   path:\n     mm/walk.c:31 is_swap_pte(pte) true\n     mm/walk.c:40 " in body
    # The call site is in the tree, not in a line the patch adds: the tree's lines are quoted.
    assert (
        "   mm/walk.c\n      39\t\tif (!pte_present(pte))\n"
        " >    40\t\t\tentry = pte_to_swp_entry(pte);\n"
    ) in body
    assert "--tree . --base 45d0b10e97990527974819b768e3acfad1bf66cb --build --arch arm64,s390" in (
        body
    )


# --- the CLI resolves what the renderer must not look up: From: and Date: --------------------


def test_cli_from_git_identity_and_source_date_epoch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1741687200")
    result = run_cli(capsys, "audit", str(DEMO), "--format", "email")
    assert result.code == 2
    assert result.err == (
        "reviewtool: error: --format email needs --email-from (or git config user.email)\n"
    )
    for key, value in (("user.name", "Zoë Bot"), ("user.email", "zoe-bot@example.net")):
        subprocess.run(["git", "config", "--global", key, value], check=True)
    result = run_cli(capsys, "audit", str(DEMO), "--format", "email", "--reply-to", "patch")
    assert result.code == 0, result.err
    messages = [_parse(str(m)) for m in mailbox.mbox(_write(result.out))]
    assert [m["From"] for m in messages] == ["Zoë Bot <zoe-bot@example.net>"] * 2
    assert [m["Date"] for m in messages] == ["Tue, 11 Mar 2025 10:00:00 +0000"] * 2
    result = run_cli(capsys, "audit", str(DEMO), "-f", "email", "--email-from", BOT, "-o", "r.eml")
    assert (result.code, result.out) == (0, "")
    assert _parse((tmp_path / "r.eml").read_text(encoding="utf-8"))["From"] == BOT


def test_cli_clean_series_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    clean = tmp_path / "clean.mbox"
    clean.write_bytes(mbox(series(2)))
    result = run_cli(capsys, "audit", str(clean), "--format", "email", "--email-from", BOT)
    assert (result.code, result.out, result.err) == (0, "", "")
    result = run_cli(
        capsys, "audit", str(clean), "-f", "email", "--email-from", BOT, "--email-clean"
    )
    assert result.code == 0 and _parse(result.out)["In-Reply-To"] == "<s-0@example.org>"
