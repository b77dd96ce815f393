"""Fetching a thread from a public-inbox archive (what lore.kernel.org runs) by Message-Id.

public-inbox serves a whole thread as a gzipped mboxrd at `<inbox-url>/<message-id>/t.mbox.gz`
(any message of the thread finds it). The Message-Id is escaped as public-inbox's own
`mid_escape` escapes it; `@` stays as it is, `/` becomes `%2F`. Everything is bounded: the
connection and each read time out, and both the download and what it inflates to have a size
limit, so a broken or hostile server cannot hang a bot or fill its disk.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass

from reviewtool import __version__
from reviewtool.errors import InputError, ToolchainError

# RFC 5322 msg-id: printable ASCII without spaces and angle brackets (and at most 998 bytes,
# the longest line a message may have).
_MESSAGE_ID = re.compile(r"^[\x21-\x3b\x3d\x3f-\x7e]{1,998}$")
# The characters public-inbox's MID_ESC leaves unescaped (urllib keeps letters, digits, "_.-~").
_MID_SAFE = "!$&'()*+,;=:@"
_GZIP_MAGIC = b"\x1f\x8b"

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # compressed and inflated alike


@dataclass(frozen=True)
class Thread:
    """A fetched thread: the mbox bytes (mboxrd, as public-inbox writes it) and where from."""

    message_id: str
    url: str
    mbox: bytes


def clean_message_id(value: str) -> str:
    """The Message-Id without `<>` and surrounding space; InputError when it cannot be one."""
    text = value.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if not is_message_id(text):
        shown = text if text.isprintable() else repr(text)
        raise InputError(f"not a Message-Id: {shown[:200]}")
    return text


def is_message_id(text: str) -> bool:
    """Whether text can be a Message-Id (without its angle brackets)."""
    return bool(_MESSAGE_ID.match(text))


def thread_url(inbox_url: str, message_id: str) -> str:
    """`<inbox>/<escaped message-id>/t.mbox.gz`."""
    return f"{_inbox_base(inbox_url)}{_escape(message_id)}/t.mbox.gz"


def message_url(inbox_url: str, message_id: str) -> str:
    """The archive's page of one message: `<inbox>/<escaped message-id>/`."""
    return f"{_inbox_base(inbox_url)}{_escape(message_id)}/"


def _escape(message_id: str) -> str:
    return urllib.parse.quote(clean_message_id(message_id), safe=_MID_SAFE)


def _inbox_base(inbox_url: str) -> str:
    parsed = urllib.parse.urlsplit(inbox_url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(f"--inbox: not an http(s) URL: {inbox_url}")
    if parsed.query or parsed.fragment:
        raise InputError(f"--inbox: an inbox URL has no query or fragment: {inbox_url}")
    return urllib.parse.urlunsplit(parsed._replace(path=parsed.path.rstrip("/") + "/"))


def fetch_thread(
    inbox_url: str,
    message_id: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Thread:
    """Download the thread holding message_id.

    InputError (exit 2) when the archive does not have the message or answers with something
    that is not a thread; ToolchainError (exit 3) when it cannot be reached or fails.
    """
    ident = clean_message_id(message_id)
    url = thread_url(inbox_url, ident)
    data = _download(url, timeout, max_bytes)
    if data.startswith(_GZIP_MAGIC):
        data = _inflate(url, data, max_bytes)
    if not data.startswith(b"From "):
        raise InputError(f"{url}: the archive's answer is not an mbox")
    return Thread(message_id=ident, url=url, mbox=data)


def _download(url: str, timeout: float, max_bytes: int) -> bytes:
    request = urllib.request.Request(
        url, headers={"User-Agent": f"reviewtool/{__version__}", "Accept-Encoding": "identity"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: bytes = response.read(max_bytes + 1)
    except urllib.error.HTTPError as error:
        raise _http_error(url, error) from error
    except urllib.error.URLError as error:
        raise ToolchainError(f"{url}: archive unreachable: {_reason(error.reason)}") from error
    except TimeoutError as error:
        raise ToolchainError(
            f"{url}: archive unreachable: timed out after {timeout:g} s"
        ) from error
    except OSError as error:
        raise ToolchainError(f"{url}: archive unreachable: {_reason(error)}") from error
    if len(data) > max_bytes:
        raise InputError(f"{url}: the thread is larger than {max_bytes} bytes")
    return data


def _http_error(url: str, error: urllib.error.HTTPError) -> Exception:
    error.close()
    if error.code in (404, 410):
        return InputError(f"{url}: no such message in the archive (HTTP {error.code})")
    if 400 <= error.code < 500:
        return InputError(f"{url}: the archive refused the request (HTTP {error.code})")
    return ToolchainError(f"{url}: archive error (HTTP {error.code} {error.reason})")


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__


def _inflate(url: str, data: bytes, max_bytes: int) -> bytes:
    """gunzip (every member) with a bound on the output, so a gzip bomb stops at max_bytes."""
    out = b""
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, max_bytes + 1 - len(out))
        except zlib.error as error:
            raise InputError(f"{url}: corrupt gzip data: {error}") from error
        if len(out) > max_bytes or inflater.unconsumed_tail:
            raise InputError(f"{url}: the thread inflates to more than {max_bytes} bytes")
        if not inflater.eof:
            raise InputError(f"{url}: truncated gzip data")
        rest = inflater.unused_data
    return out
