"""`reviewtool bot`: fetch a thread from public-inbox, send replies by SMTP."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from reviewtool.cli import common
from reviewtool.cli.options import DEFAULT_MAX_INPUT_SIZE, MAX_TIMEOUT, Group, MaxInputSizeOption
from reviewtool.errors import ExitCode, InputError

bot_app = typer.Typer(
    help="A CI bot on a mailing list: fetch series from a public-inbox archive, send replies.",
    no_args_is_help=True,
    cls=Group,
)


@bot_app.command("fetch")
def bot_fetch(
    message_id: Annotated[
        str,
        typer.Argument(metavar="MSGID", help="Any Message-Id of the thread, with or without <>."),
    ],
    inbox: Annotated[
        str,
        typer.Option(
            "--inbox", help="The public-inbox archive URL (https://lore.kernel.org/all/)."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the thread's mbox to FILE instead of stdout.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds to wait for the connection and each read.", min=0.001, max=MAX_TIMEOUT
        ),
    ] = 30.0,
    max_input_size: MaxInputSizeOption = DEFAULT_MAX_INPUT_SIZE,
) -> int:
    """Fetch the thread holding MSGID (`<inbox>/<msgid>/t.mbox.gz`) as an mboxrd."""
    from reviewtool.integrations.inbox import fetch_thread

    limit = common.parse_size(max_input_size)
    thread = fetch_thread(
        inbox, message_id, timeout=timeout, **({} if limit is None else {"max_bytes": limit})
    )
    common.emit_bytes(thread.mbox, output)
    return ExitCode.OK


@bot_app.command("reply")
def bot_reply(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="Replies written by --format email (one message, or an mbox of several).",
            show_default=False,
        ),
    ],
    smtp: Annotated[
        str | None,
        typer.Option(help="The SMTP server, HOST[:PORT] (port 25 by default).", show_default=False),
    ] = None,
    starttls: Annotated[bool, typer.Option(help="Switch to TLS with STARTTLS.")] = False,
    user: Annotated[
        str | None,
        typer.Option(
            help="Log in as USER; the password is read from $REVIEWTOOL_SMTP_PASSWORD.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Print the envelopes and messages instead of sending.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds to wait for the server at each step.", min=0.001, max=MAX_TIMEOUT
        ),
    ] = 60.0,
) -> int:
    """Send the replies FILE... by SMTP: envelope sender From:, recipients To, Cc and Bcc.

    An empty FILE (a clean audit) sends nothing.
    """
    from reviewtool.integrations import smtp as smtp_module

    messages = []
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as error:
            raise InputError(f"{file}: cannot read: {error.strerror}") from error
        messages += smtp_module.read_messages(str(file), data)
    if dry_run:
        for message in messages:
            typer.echo(f"MAIL FROM:<{message.sender}>")
            for recipient in message.recipients:
                typer.echo(f"RCPT TO:<{recipient}>")
            typer.echo(message.data.decode("utf-8", "replace").replace("\r\n", "\n"))
        return ExitCode.OK
    if smtp is None:
        raise InputError("missing --smtp HOST[:PORT] (or --dry-run)")
    if not messages:  # every reply is empty (clean audits): no connection at all
        return ExitCode.OK
    host, port = smtp_module.parse_server(smtp)
    password = os.environ.get("REVIEWTOOL_SMTP_PASSWORD", "")
    if user and not password:
        raise InputError("--user needs the password in $REVIEWTOOL_SMTP_PASSWORD")
    options = smtp_module.SmtpOptions(
        host=host, port=port, starttls=starttls, user=user or "", password=password, timeout=timeout
    )
    for sent in smtp_module.send(messages, options):
        for recipient, answer in sent.refused.items():
            refused = f"{sent.message.name}: {recipient} refused: {answer}"
            sys.stderr.write(f"reviewtool: warning: {common.one_line(refused)}\n")
        delivered = len(sent.message.recipients) - len(sent.refused)
        typer.echo(f"sent {sent.message.message_id} to {delivered} recipients")
    return ExitCode.OK
