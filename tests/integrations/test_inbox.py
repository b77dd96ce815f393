"""Fetching threads from a public-inbox archive: a loopback HTTP server for the bounds and
errors, and a real public-inbox-httpd serving a real v2 inbox for the end-to-end runs."""

from __future__ import annotations

import email
import email.policy
import gzip
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from reviewtool.errors import InputError, ToolchainError
from reviewtool.integrations.inbox import clean_message_id, fetch_thread, message_url, thread_url
from tests import publicinbox
from tests.conftest import FIXTURES
from tests.helpers import run_cli

DEMO = FIXTURES / "demo" / "demo.mbox"
COVER = "20250310083512.11970-1-arjun.raghavan@example.com"
PATCH_2 = "20250310083512.11970-3-arjun.raghavan@example.com"
THREAD = b"From mboxrd@z Thu Jan  1 00:00:00 1970\nSubject: x\n\nbody\n"


# --- Message-Ids and URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("<a.b@example.org>", "a.b@example.org"),
        ("  a.b@example.org \n", "a.b@example.org"),
        ("< a@b >", "a@b"),
        ("x/y+z=1$@host", "x/y+z=1$@host"),
    ],
)
def test_message_id_with_or_without_brackets(given: str, expected: str) -> None:
    assert clean_message_id(given) == expected


@pytest.mark.parametrize(
    "bad", ["", "<>", "a b@c", "a<b@c", "a>b@c", "a@b\r\nBcc: x@y", "caf\u00e9@x", "a\x00@b"]
)
def test_impossible_message_ids_are_refused(bad: str) -> None:
    with pytest.raises(InputError) as caught:
        clean_message_id(bad)
    assert caught.value.message.startswith("not a Message-Id")
    assert "\n" not in caught.value.message


def test_urls_escape_as_public_inbox_does() -> None:
    # public-inbox's MID_ESC keeps @ and sub-delims; '/', '%', '?', '#' are escaped.
    assert thread_url("https://lore.example.org/all", "<a/b%c?d#e@x>") == (
        "https://lore.example.org/all/a%2Fb%25c%3Fd%23e@x/t.mbox.gz"
    )
    assert message_url("https://lore.example.org/all/", "1.2-3@x") == (
        "https://lore.example.org/all/1.2-3@x/"
    )


@pytest.mark.parametrize("bad", ["lore.kernel.org/all", "ftp://x/all", "https://x/all?q=1"])
def test_inbox_url_must_be_http(bad: str) -> None:
    with pytest.raises(InputError, match="--inbox"):
        thread_url(bad, "a@b")


# --- a loopback HTTP server for errors and bounds ------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes]]] = {}
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        status, body = self.routes.get(self.path, (404, b"Not Found\n"))
        self.send_response(status)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http() -> Iterator[str]:
    _Handler.routes = {}
    _Handler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/list"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_fetch_inflates_the_thread(http: str) -> None:
    _Handler.routes["/list/a%2Fb@x/t.mbox.gz"] = (200, gzip.compress(THREAD))
    thread = fetch_thread(http, "<a/b@x>")
    assert thread.mbox == THREAD
    assert thread.url == f"{http}/a%2Fb@x/t.mbox.gz"


def test_fetch_accepts_an_already_inflated_answer(http: str) -> None:
    _Handler.routes["/list/a@x/t.mbox.gz"] = (200, THREAD)
    assert fetch_thread(http, "a@x").mbox == THREAD


def test_not_found_is_an_input_error(http: str) -> None:
    with pytest.raises(InputError, match=r"no such message in the archive \(HTTP 404\)"):
        fetch_thread(http, "missing@x")


def test_server_error_is_an_environment_error(http: str) -> None:
    _Handler.routes["/list/a@x/t.mbox.gz"] = (503, b"busy")
    with pytest.raises(ToolchainError, match="HTTP 503"):
        fetch_thread(http, "a@x")


def test_gzip_bomb_stops_at_the_bound(http: str) -> None:
    bomb = gzip.compress(b"From mboxrd@z x\n" + b"\0" * (8 << 20))
    assert len(bomb) < 64 << 10
    _Handler.routes["/list/a@x/t.mbox.gz"] = (200, bomb)
    with pytest.raises(InputError, match="inflates to more than 1048576 bytes"):
        fetch_thread(http, "a@x", max_bytes=1 << 20)


def test_download_size_is_bounded(http: str) -> None:
    _Handler.routes["/list/a@x/t.mbox.gz"] = (200, THREAD * 1000)
    with pytest.raises(InputError, match="larger than 1000 bytes"):
        fetch_thread(http, "a@x", max_bytes=1000)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>hello</html>", "not an mbox"),
        (gzip.compress(THREAD)[:-12], "truncated gzip data"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 20, "corrupt gzip data"),
    ],
)
def test_bad_answers_are_input_errors(http: str, body: bytes, problem: str) -> None:
    _Handler.routes["/list/a@x/t.mbox.gz"] = (200, body)
    with pytest.raises(InputError, match=problem):
        fetch_thread(http, "a@x")


def test_refused_connection_is_an_environment_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ToolchainError, match="archive unreachable: connection refused"):
        fetch_thread(f"http://127.0.0.1:{port}/list", "a@x", timeout=5)


def test_silent_server_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts into the backlog, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/list"
        with pytest.raises(ToolchainError, match="archive unreachable: timed out"):
            fetch_thread(url, "a@x", timeout=0.5)


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str], http: str) -> None:
    result = run_cli(capsys, "bot", "fetch", "missing@x", "--inbox", http)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "no such message" in result.err
    result = run_cli(capsys, "bot", "fetch", "a b@x", "--inbox", http)
    assert (result.code, result.err) == (2, "reviewtool: error: not a Message-Id: a b@x\n")
    result = run_cli(capsys, "audit", "--inbox", http, "missing@x")
    assert result.code == 2 and result.err.count("\n") == 1
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli(capsys, "bot", "fetch", "a@x", "--inbox", f"http://127.0.0.1:{port}/x")
    assert result.code == 3 and result.err.count("\n") == 1 and "unreachable" in result.err


# --- a real public-inbox ---------------------------------------------------------------------

REVIEW_REPLY = f"""From: Henrik Lindqvist <henrik.lindqvist@example.org>
To: Arjun Raghavan <arjun.raghavan@example.com>
Cc: linux-mm@lists.example.org
Subject: Re: [PATCH v2 2/3] mm/pgtable_demo: handle marker ptes when counting, copying and zapping
Date: Tue, 11 Mar 2025 09:00:00 +0100
Message-Id: <review-1@example.org>
In-Reply-To: <{PATCH_2}>
References: <{COVER}> <{PATCH_2}>

On Mon, Mar 10, 2025 at 02:05:12PM +0530, Arjun Raghavan wrote:
> +		if (pte_demo_is_marker(pte)) {{

Looks right to me.

Reviewed-by: Henrik Lindqvist <henrik.lindqvist@example.org>
""".encode()


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[publicinbox.PublicInbox]:
    archive = publicinbox.create(tmp_path)
    assert archive.deliver_mbox(DEMO) == 4
    archive.deliver(REVIEW_REPLY)
    with publicinbox.serve(archive, tmp_path / "httpd.log"):
        yield archive


def _findings(capsys: pytest.CaptureFixture[str], *args: str) -> list[tuple[object, ...]]:
    result = run_cli(capsys, "audit", "--format", "json", "--fail-on", "never", *args)
    assert result.code == 0, result.err
    keys = ("rule", "severity", "patch", "path", "line", "message", "fingerprint")
    return [tuple(f[k] for k in keys) for f in result.json()["findings"]]


@pytest.mark.slow
def test_fetch_and_audit_from_public_inbox(
    capsys: pytest.CaptureFixture[str], inbox: publicinbox.PublicInbox, tmp_path: Path
) -> None:
    thread = tmp_path / "thread.mbox"
    # Any message of the thread finds it; the Message-Id may come with its brackets.
    result = run_cli(
        capsys, "bot", "fetch", f"<{PATCH_2}>", "--inbox", inbox.url, "-o", str(thread)
    )
    assert (result.code, result.out, result.err) == (0, "", "")
    fetched = publicinbox.split_mboxrd(thread.read_bytes())
    ids = sorted(str(email.message_from_bytes(m)["Message-Id"]) for m in fetched)
    assert len(ids) == 5 and "<review-1@example.org>" in ids

    original = _findings(capsys, str(DEMO))
    from_file = _findings(capsys, str(thread))
    from_inbox = _findings(capsys, "--inbox", inbox.url, COVER)
    # The same findings; messages differ only in naming the source (file or thread URL).
    assert [f[:5] + f[6:] for f in from_file] == [f[:5] + f[6:] for f in from_inbox]
    assert [f for f in from_file if f[1] != "note"] == [f for f in from_inbox if f[1] != "note"]
    # The review reply is left out of the series (a note); every other finding is the same.
    ignored = [f for f in from_inbox if f[0] == "series-ignored-message"]
    assert len(ignored) == 1 and "<review-1@example.org>" in str(ignored[0][5])
    assert f"left out {inbox.url}/{COVER}/t.mbox.gz#5: message 5" in str(ignored[0][5])
    assert [f for f in from_inbox if f[0] != "series-ignored-message"] == original


@pytest.mark.slow
def test_email_reply_from_public_inbox_threads(
    capsys: pytest.CaptureFixture[str], inbox: publicinbox.PublicInbox
) -> None:
    result = run_cli(
        capsys,
        "audit",
        "--inbox",
        inbox.url,
        COVER,
        "--format",
        "email",
        "--email-from",
        "Review Bot <bot@example.net>",
    )
    assert result.code == 0, result.err
    reply = email.message_from_string(result.out, policy=email.policy.default)
    assert reply["Subject"] == (
        "Re: [PATCH v2 0/3] mm/pgtable_demo: teach the pte helpers about marker ptes"
    )
    assert reply["In-Reply-To"] == f"<{COVER}>"
    assert reply["References"] == f"<{COVER}>"
    assert reply["To"] == "Arjun Raghavan <arjun.raghavan@example.com>"
    assert "bot@example.net" not in str(reply["Cc"])
    body = reply.get_content()
    assert ">> mm/pgtable_demo.c:91:55: warning: whitespace-trailing:" in body
    assert f"| Closes: {inbox.url}/{reply['Message-Id'].strip('<>')}/" in body
    assert f"reviewtool audit --inbox {inbox.url} {COVER}" in body
    assert "review-1@example.org" not in body
