"""Sending the replies `--format email` wrote: one message or an mboxrd of several, by SMTP.

The envelope sender is the From: address; the recipients are To, Cc and Bcc (Bcc is not sent as
a header). All messages go over one connection; every failure is one line: the server cannot be
reached (or refuses the sender, the data, the login) is an environment error, and so is a
message every recipient of which is refused; a message some recipients refuse is still sent,
and the refusals are returned for the caller to report.
"""

from __future__ import annotations

import email.message
import email.policy
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field

from reviewtool.errors import InputError, ToolchainError
from reviewtool.intake.mail import split_messages

DEFAULT_PORT = 25
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Outgoing:
    """One message to send and its envelope."""

    name: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    data: bytes  # the message as it is sent (no Bcc header, CRLF line ends)


@dataclass(frozen=True)
class SmtpOptions:
    host: str
    port: int = DEFAULT_PORT
    starttls: bool = False
    user: str = ""
    password: str = ""
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Sent:
    message: Outgoing
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> the server's answer


def parse_server(value: str) -> tuple[str, int]:
    """`HOST[:PORT]` or `[IPv6]:PORT` as (host, port)."""
    text = value.strip()
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([^\s:\[\]/]+)(?::(\d{1,5}))?", text)
    if not match:
        raise InputError(f"--smtp: not HOST[:PORT]: {value}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4) or DEFAULT_PORT)
    if not 0 < port < 65536:
        raise InputError(f"--smtp: port out of range: {value}")
    return host, port


def read_messages(name: str, data: bytes) -> list[Outgoing]:
    """The messages of a file `--format email` wrote: one message, or an mboxrd of several."""
    if not data.strip():
        return []
    chunks = [raw for _, raw in split_messages(name, data)]
    return [
        _outgoing(f"{name}#{n}" if len(chunks) > 1 else name, c) for n, c in enumerate(chunks, 1)
    ]


def _outgoing(name: str, raw: bytes) -> Outgoing:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(message, email.message.EmailMessage) or not message.keys():
        raise InputError(f"{name}: not a mail message")
    sender = _addresses(name, message, ("From",))
    if len(sender) != 1:
        raise InputError(f"{name}: needs exactly one From: address")
    recipients = _addresses(name, message, ("To", "Cc", "Bcc"))
    if not recipients:
        raise InputError(f"{name}: no recipients (To:, Cc: or Bcc:)")
    del message["Bcc"]
    return Outgoing(
        name=name,
        sender=sender[0],
        recipients=tuple(dict.fromkeys(recipients)),
        subject=str(message.get("Subject", "")),
        message_id=str(message.get("Message-Id", "")).strip(),
        data=message.as_bytes(policy=email.policy.SMTP),
    )


def _addresses(name: str, message: email.message.EmailMessage, headers: Sequence[str]) -> list[str]:
    found = []
    for header in headers:
        for value in message.get_all(header, []):
            try:
                addresses = value.addresses
            except AttributeError as error:
                raise InputError(f"{name}: unreadable {header}: header") from error
            for address in addresses:
                if not address.addr_spec or "@" not in address.addr_spec:
                    raise InputError(f"{name}: {header}: not an address: {address}")
                found.append(address.addr_spec)
    return found


def send(messages: Sequence[Outgoing], options: SmtpOptions) -> list[Sent]:
    """Send every message over one connection; ToolchainError names what failed and where."""
    server = f"{options.host}:{options.port}"
    sent: list[Sent] = []
    stage = "cannot connect"
    try:
        with smtplib.SMTP(options.host, options.port, timeout=options.timeout) as connection:
            stage = "opening the session"
            _hello(connection, options)
            for message in messages:
                stage = _which(messages, sent)
                refused = connection.sendmail(
                    message.sender, list(message.recipients), message.data
                )
                sent.append(Sent(message, {k: _answer(*v) for k, v in refused.items()}))
            stage = "closing the connection"
    except smtplib.SMTPRecipientsRefused as error:
        answers = "; ".join(f"{k}: {_answer(*v)}" for k, v in error.recipients.items())
        raise ToolchainError(
            f"smtp {server}: {stage}: every recipient refused: {answers}"
        ) from error
    except smtplib.SMTPResponseException as error:
        answer = _answer(error.smtp_code, error.smtp_error)
        raise ToolchainError(f"smtp {server}: {stage}: {answer}") from error
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        reason = _reason(error, options.timeout)
        raise ToolchainError(
            f"smtp {server}: {stage}: {reason}{_progress(messages, sent)}"
        ) from error
    return sent


def _reason(error: Exception, timeout: float) -> str:
    """Why the conversation failed, one line; a timeout says so whatever smtplib wraps it in."""
    if isinstance(error, TimeoutError) or str(error).endswith("timed out"):
        return f"timed out after {timeout:g} s"
    if isinstance(error, OSError) and not isinstance(error, ssl.SSLError) and error.strerror:
        return error.strerror.lower()
    return " ".join(str(error).split()) or type(error).__name__


def _hello(connection: smtplib.SMTP, options: SmtpOptions) -> None:
    connection.ehlo_or_helo_if_needed()
    if options.starttls:
        connection.starttls(context=ssl.create_default_context())
        connection.ehlo()
    if options.user:
        connection.login(options.user, options.password)


def _answer(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(message.split())}"


def _which(messages: Sequence[Outgoing], sent: list[Sent]) -> str:
    current = messages[len(sent)]
    return f"{current.name} {current.message_id}".strip()


def _progress(messages: Sequence[Outgoing], sent: list[Sent]) -> str:
    return f" ({len(sent)} of {len(messages)} sent)" if sent else ""
