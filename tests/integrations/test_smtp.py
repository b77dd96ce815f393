"""Sending replies by SMTP to a real SMTP server (aiosmtpd) on loopback; end to end, the server
delivers into a real public-inbox and the reply shows up in the series' thread."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reviewtool.errors import InputError
from reviewtool.integrations.smtp import parse_server, read_messages
from tests import publicinbox
from tests.conftest import FIXTURES
from tests.helpers import run_cli

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

DEMO = FIXTURES / "demo" / "demo.mbox"
COVER = "20250310083512.11970-1-arjun.raghavan@example.com"
BOT = "Review Bot <bot@example.net>"

REPLY = b"""From: Review Bot <bot@example.net>
To: Ann <ann@example.org>
Cc: list@example.org, Bob <bob@example.org>
Bcc: archive@example.org
Subject: Re: [PATCH] x
Message-Id: <r1@example.net>
In-Reply-To: <p1@example.org>

Hi Ann,
From here on.
"""


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class Handler:
    """Stores every message; refuses the recipients in `refuse`; calls `deliver` on each."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    deliver: Callable[[bytes], None] | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or envelope.content)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), data))
        if self.deliver is not None:
            self.deliver(data)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = _free_port()
    controller = aiosmtpd_controller.Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


# --- reading what --format email wrote ------------------------------------------------------


def test_single_message_envelope() -> None:
    (message,) = read_messages("reply.eml", REPLY)
    assert message.sender == "bot@example.net"
    assert message.recipients == (
        "ann@example.org",
        "list@example.org",
        "bob@example.org",
        "archive@example.org",
    )
    assert message.message_id == "<r1@example.net>"
    assert b"Bcc" not in message.data and b"\r\n" in message.data


def test_mboxrd_of_several_messages_is_unquoted() -> None:
    second = REPLY.replace(b"r1@", b"r2@")
    mbox = b"".join(
        b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + m.replace(b"\nFrom here", b"\n>From here")
        for m in (REPLY + b"\n", second + b"\n")
    )
    messages = read_messages("replies.mbox", mbox)
    assert [m.message_id for m in messages] == ["<r1@example.net>", "<r2@example.net>"]
    assert [m.name for m in messages] == ["replies.mbox#1", "replies.mbox#2"]
    assert all(b"\r\nFrom here on.\r\n" in m.data for m in messages)


def test_empty_file_sends_nothing() -> None:
    assert read_messages("reply.eml", b"") == []


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"Subject: x\nTo: a@b\n\nbody\n", "exactly one From"),
        (b"From: a@b\nSubject: x\n\nbody\n", "no recipients"),
        (b"From: a@b\nTo: nobody\n\nbody\n", "not an address"),
    ],
)
def test_unsendable_messages_are_input_errors(raw: bytes, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        read_messages("reply.eml", raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("mail.example.org", ("mail.example.org", 25)), ("127.0.0.1:2525", ("127.0.0.1", 2525))],
)
def test_parse_server(value: str, expected: tuple[str, int]) -> None:
    assert parse_server(value) == expected
    assert parse_server("[::1]:587") == ("::1", 587)
    with pytest.raises(InputError):
        parse_server("host:99999")


# --- a real SMTP server ---------------------------------------------------------------------


def test_reply_sends_over_smtp(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, smtp_server: tuple[Handler, int]
) -> None:
    handler, port = smtp_server
    reply = tmp_path / "reply.eml"
    reply.write_bytes(REPLY)
    result = run_cli(capsys, "bot", "reply", str(reply), "--smtp", f"127.0.0.1:{port}")
    assert (result.code, result.err) == (0, "")
    assert result.out == "sent <r1@example.net> to 4 recipients\n"
    (got,) = handler.received
    assert got.sender == "bot@example.net"
    assert got.recipients == [
        "ann@example.org",
        "list@example.org",
        "bob@example.org",
        "archive@example.org",
    ]
    message = email.message_from_bytes(got.data, policy=email.policy.default)
    assert message["Bcc"] is None and message["In-Reply-To"] == "<p1@example.org>"


def test_dry_run_sends_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, smtp_server: tuple[Handler, int]
) -> None:
    handler, port = smtp_server
    reply = tmp_path / "reply.eml"
    reply.write_bytes(REPLY)
    result = run_cli(capsys, "bot", "reply", str(reply), "--smtp", f"127.0.0.1:{port}", "--dry-run")
    assert result.code == 0 and handler.received == []
    assert result.out.startswith("MAIL FROM:<bot@example.net>\nRCPT TO:<ann@example.org>\n")
    assert "Subject: Re: [PATCH] x\n" in result.out and "Bcc" not in result.out


def test_refused_recipients(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, smtp_server: tuple[Handler, int]
) -> None:
    handler, port = smtp_server
    reply = tmp_path / "reply.eml"
    reply.write_bytes(REPLY)
    handler.refuse = {"bob@example.org"}
    result = run_cli(capsys, "bot", "reply", str(reply), "--smtp", f"127.0.0.1:{port}")
    assert result.code == 0
    assert result.err == (
        f"reviewtool: warning: {reply}: bob@example.org refused: 550 5.1.1 no such user\n"
    )
    assert result.out == "sent <r1@example.net> to 3 recipients\n"
    handler.refuse = {
        "ann@example.org",
        "list@example.org",
        "bob@example.org",
        "archive@example.org",
    }
    result = run_cli(capsys, "bot", "reply", str(reply), "--smtp", f"127.0.0.1:{port}")
    assert result.code == 3
    assert result.err.count("\n") == 1
    assert "every recipient refused: ann@example.org: 550 5.1.1 no such user" in result.err
    assert len(handler.received) == 1


def test_refused_connection_is_exit_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    reply = tmp_path / "reply.eml"
    reply.write_bytes(REPLY)
    port = _free_port()
    result = run_cli(capsys, "bot", "reply", str(reply), "--smtp", f"127.0.0.1:{port}")
    assert result.code == 3
    assert (
        result.err
        == f"reviewtool: error: smtp 127.0.0.1:{port}: cannot connect: connection refused\n"
    )


def test_silent_server_times_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    reply = tmp_path / "reply.eml"
    reply.write_bytes(REPLY)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        result = run_cli(
            capsys, "bot", "reply", str(reply), "--smtp", f"127.0.0.1:{port}", "--timeout", "0.5"
        )
    assert time.monotonic() - started < 10
    assert result.code == 3 and "timed out after 0.5 s" in result.err
    assert result.err.count("\n") == 1


def test_starttls_refused_by_the_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, smtp_server: tuple[Handler, int]
) -> None:
    handler, port = smtp_server
    reply = tmp_path / "reply.eml"
    reply.write_bytes(REPLY)
    result = run_cli(
        capsys, "bot", "reply", str(reply), "--smtp", f"127.0.0.1:{port}", "--starttls"
    )
    assert result.code == 3 and handler.received == []
    assert result.err == (
        f"reviewtool: error: smtp 127.0.0.1:{port}: opening the session: "
        "STARTTLS extension not supported by server.\n"
    )


def test_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    reply = tmp_path / "reply.eml"
    reply.write_bytes(REPLY)
    assert run_cli(capsys, "bot", "reply", str(reply)).code == 2
    result = run_cli(capsys, "bot", "reply", str(reply), "--smtp", "x:25", "--user", "u")
    assert result.code == 2 and "REVIEWTOOL_SMTP_PASSWORD" in result.err
    assert run_cli(capsys, "bot", "reply", str(tmp_path / "none.eml"), "--smtp", "x").code == 2


# --- end to end: public-inbox, the audit, the reply, SMTP, back into the archive ----------


@pytest.mark.slow
def test_reply_lands_in_the_series_thread(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    smtp_server: tuple[Handler, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1741687200")  # the same date for both audits
    archive = publicinbox.create(tmp_path)
    archive.deliver_mbox(DEMO)
    handler, port = smtp_server
    handler.deliver = archive.deliver  # the list server: every accepted message is archived
    with publicinbox.serve(archive, tmp_path / "httpd.log") as url:
        reply = tmp_path / "reply.eml"
        result = run_cli(
            capsys, "audit", "--inbox", url, COVER, "--format", "email",
            "--email-from", BOT, "-o", str(reply),
        )  # fmt: skip
        assert result.code == 0, result.err
        result = run_cli(capsys, "bot", "reply", str(reply), "--smtp", f"127.0.0.1:{port}")
        assert result.code == 0, result.err
        sent = email.message_from_bytes(reply.read_bytes(), policy=email.policy.default)
        reply_id = sent["Message-Id"]
        assert result.out == f"sent {reply_id} to 7 recipients\n"
        (got,) = handler.received
        assert "linux-mm@lists.example.org" in got.recipients

        # public-inbox threads the reply under the cover letter: it is in the cover's thread,
        # and asking for the reply's thread gives the same thread.
        thread = publicinbox.split_mboxrd(archive.thread(COVER))
        messages = [email.message_from_bytes(m, policy=email.policy.default) for m in thread]
        by_id = {m["Message-Id"]: m for m in messages}
        assert reply_id in by_id and len(messages) == 5
        archived = by_id[reply_id]
        assert archived["In-Reply-To"] == f"<{COVER}>"
        assert archived["Subject"] == sent["Subject"]
        body = archived.get_content()
        assert ">> mm/pgtable_demo.c:91:55: warning: whitespace-trailing:" in body
        assert f"| Closes: {url}/{reply_id.strip('<>')}/" in body
        assert publicinbox.split_mboxrd(archive.thread(reply_id.strip("<>"))) == thread

        # Read back from the archive, the series is unchanged by the reply in its thread: the
        # same audit gives the same reply, byte for byte.
        again = tmp_path / "again.eml"
        result = run_cli(
            capsys, "audit", "--inbox", url, COVER, "--format", "email",
            "--email-from", BOT, "-o", str(again),
        )  # fmt: skip
        assert result.code == 0, result.err
        assert again.read_bytes() == reply.read_bytes()
