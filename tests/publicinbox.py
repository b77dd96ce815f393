"""A real public-inbox v2 archive in a test's tmp_path, served by public-inbox-httpd on loopback.

public-inbox-init creates the inbox (PI_CONFIG points into tmp_path), public-inbox-mda delivers
messages into it as a list's mail server would, and public-inbox-httpd serves it on 127.0.0.1.
The listening socket is bound here and handed to the daemon the way systemd socket activation
does (LISTEN_FDS/LISTEN_PID), so there is no race for a free port and the daemon never binds
anything else.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

TOOLS = ("public-inbox-init", "public-inbox-mda", "public-inbox-httpd")
NAME = "test"
ADDRESS = "linux-mm@lists.example.org"


def require_public_inbox() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"public-inbox is not installed ({', '.join(missing)})")


@dataclass
class PublicInbox:
    directory: Path
    config: Path
    url: str = ""  # set while served

    def environment(self) -> dict[str, str]:
        return {**os.environ, "PI_CONFIG": str(self.config), "ORIGINAL_RECIPIENT": ADDRESS}

    def deliver(self, raw: bytes) -> None:
        """Deliver one message as the list's MDA would."""
        subprocess.run(
            ["public-inbox-mda", "--no-precheck"],
            input=raw,
            env=self.environment(),
            capture_output=True,
            check=True,
            timeout=120,
        )

    def deliver_mbox(self, path: Path) -> int:
        """Deliver every message of an mboxrd file; returns how many."""
        messages = split_mboxrd(path.read_bytes())
        for raw in messages:
            self.deliver(raw)
        return len(messages)

    def thread(self, message_id: str) -> bytes:
        """The thread as the archive serves it (t.mbox.gz, inflated)."""
        import gzip

        url = f"{self.url}/{message_id}/t.mbox.gz"
        with urllib.request.urlopen(url, timeout=30) as response:
            data: bytes = response.read()
        return gzip.decompress(data)


def split_mboxrd(data: bytes) -> list[bytes]:
    """The messages of an mboxrd, unquoted (an independent reader for the tests)."""
    parts = re.split(rb"^From mboxrd@z [^\n]*\n", data, flags=re.MULTILINE)
    return [re.sub(rb"^>(>*From )", rb"\1", p, flags=re.MULTILINE) for p in parts if p.strip()]


def create(tmp_path: Path) -> PublicInbox:
    require_public_inbox()
    config = tmp_path / "public-inbox-config"
    directory = tmp_path / "inbox"
    inbox = PublicInbox(directory=directory, config=config)
    env = inbox.environment()
    subprocess.run(
        ["public-inbox-init", "-V2", NAME, str(directory), f"http://127.0.0.1/{NAME}", ADDRESS],
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    # No spam filter on the test's deliveries (spamc is not installed).
    subprocess.run(
        ["git", "config", "-f", str(config), "publicinboxmda.spamcheck", "none"], check=True
    )
    return inbox


@contextmanager
def serve(inbox: PublicInbox, log: Path) -> Iterator[str]:
    """Run public-inbox-httpd on a loopback port; yields the inbox URL; stops it afterwards."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    move = "" if fd == 3 else f"exec 3<&{fd} {fd}<&-; "
    script = move + "export LISTEN_PID=$$ LISTEN_FDS=1; exec public-inbox-httpd -W0"
    with log.open("wb") as log_file:
        daemon = subprocess.Popen(
            ["bash", "-c", script],
            pass_fds=[fd],
            env={k: v for k, v in inbox.environment().items() if k != "ORIGINAL_RECIPIENT"},
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
    listener.close()
    try:
        inbox.url = f"http://127.0.0.1:{port}/{NAME}"
        _wait_until_it_answers(inbox.url + "/", daemon, log)
        yield inbox.url
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=20)
        inbox.url = ""


def _wait_until_it_answers(url: str, daemon: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise RuntimeError(f"public-inbox-httpd exited: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=10):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError("public-inbox-httpd did not answer within 60 s")
