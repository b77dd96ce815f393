"""`reviewtool bot`: `fetch` writes a thread from a public-inbox archive (a loopback HTTP
server here) where it is asked to, within --max-input-size; `reply --dry-run` shows what would
be sent, and empty reply files (clean audits) send nothing."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from reviewtool.errors import ExitCode
from tests.conftest import FIXTURES
from tests.helpers import run_cli

Capture = pytest.CaptureFixture[str]
DEMO = FIXTURES / "demo" / "demo.mbox"
COVER = "20250310083512.11970-1-arjun.raghavan@example.com"
REPLY = b"""From: Review Bot <bot@example.net>
To: Ann <ann@example.org>
Cc: list@example.org
Bcc: archive@example.org
Subject: Re: [PATCH] x
Message-Id: <r1@example.net>
In-Reply-To: <p1@example.org>

Hi Ann,
"""


class _Archive(BaseHTTPRequestHandler):
    """Serves the demo thread, gzipped as public-inbox serves t.mbox.gz, at the cover's URL."""

    threads: ClassVar[dict[str, bytes]] = {
        f"/list/{COVER}/t.mbox.gz": gzip.compress(DEMO.read_bytes())
    }

    def do_GET(self) -> None:
        body = self.threads.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def inbox() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Archive)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/list/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_fetch_prints_the_thread_or_writes_it_to_output(
    inbox: str, tmp_path: Path, capsys: Capture
) -> None:
    printed = run_cli(capsys, "bot", "fetch", COVER, "--inbox", inbox)
    assert (printed.code, printed.err) == (ExitCode.OK, "")
    assert printed.out == DEMO.read_text()
    out = tmp_path / "thread.mbox"
    written = run_cli(capsys, "bot", "fetch", f"<{COVER}>", "--inbox", inbox, "-o", str(out))
    assert (written.code, written.out) == (ExitCode.OK, "")
    assert out.read_bytes() == DEMO.read_bytes()
    # What was fetched audits as the series itself.
    fetched = run_cli(capsys, "audit", str(out), "-f", "json").json()
    demo = run_cli(capsys, "audit", str(DEMO), "-f", "json").json()
    assert fetched["findings"] == demo["findings"]


def test_fetch_keeps_to_max_input_size(inbox: str, capsys: Capture) -> None:
    result = run_cli(capsys, "bot", "fetch", COVER, "--inbox", inbox, "--max-input-size", "4K")
    assert (result.code, result.out) == (ExitCode.INPUT, "")
    assert result.err == (
        f"reviewtool: error: {inbox}{COVER}/t.mbox.gz: the thread inflates to more than "
        "4096 bytes\n"
    )


def test_reply_dry_run_shows_each_message_and_skips_empty_files(
    tmp_path: Path, capsys: Capture
) -> None:
    reply, empty = tmp_path / "reply.eml", tmp_path / "clean.eml"
    reply.write_bytes(REPLY)
    empty.write_bytes(b"")
    result = run_cli(capsys, "bot", "reply", str(empty), str(reply), str(empty), "--dry-run")
    assert (result.code, result.err) == (ExitCode.OK, "")
    envelope = [line for line in result.out.splitlines() if line.startswith(("MAIL", "RCPT"))]
    assert envelope == [
        "MAIL FROM:<bot@example.net>",
        "RCPT TO:<ann@example.org>",
        "RCPT TO:<list@example.org>",
        "RCPT TO:<archive@example.org>",
    ]
    assert "Subject: Re: [PATCH] x\n" in result.out and "\r" not in result.out
    nothing = run_cli(capsys, "bot", "reply", str(empty), "--dry-run")
    assert (nothing.code, nothing.out, nothing.err) == (ExitCode.OK, "", "")


def test_reply_needs_a_file(capsys: Capture) -> None:
    result = run_cli(capsys, "bot", "reply", "--dry-run")
    assert (result.code, result.out) == (ExitCode.INPUT, "")
    assert result.err.startswith("reviewtool: error: Missing argument 'FILE'.\n")


def test_empty_replies_send_nothing_without_connecting(tmp_path: Path, capsys: Capture) -> None:
    empty = tmp_path / "clean.eml"
    empty.write_bytes(b"")
    result = run_cli(capsys, "bot", "reply", str(empty), "--smtp", f"127.0.0.1:{_closed_port()}")
    assert (result.code, result.out, result.err) == (ExitCode.OK, "", "")
