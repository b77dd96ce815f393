"""One renderer per output format, chosen from FORMATTERS; each is a pure function of the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reviewtool.report import Report


@dataclass(frozen=True)
class RenderOptions:
    """`rich` asks the text renderer for rich tables (the CLI sets it when stdout is a TTY);
    `report_url` is where the full report is, linked from a Markdown comment that had to be
    shortened."""

    rich: bool = False
    width: int = 100
    report_url: str | None = None
    # --format email: reply to the cover letter ("cover") or to each patch ("patch"); the
    # From: address and Date: of the reply (the CLI resolves their defaults, so rendering stays
    # pure); the public-inbox URL the series came from; and whether a clean audit gets a reply.
    reply_to: str = "cover"
    email_from: str = ""
    email_date: str = ""
    inbox_url: str = ""
    email_clean: bool = False


Renderer = Callable[[Report, RenderOptions], str]


def _text(report: Report, options: RenderOptions) -> str:
    from reviewtool.render import text

    return text.render(report, options)


def _json(report: Report, options: RenderOptions) -> str:
    from reviewtool.render import json

    return json.render(report)


def _markdown(report: Report, options: RenderOptions) -> str:
    from reviewtool.render import markdown

    return markdown.render(report, options)


def _sarif(report: Report, options: RenderOptions) -> str:
    from reviewtool.render import sarif

    return sarif.render(report)


def _codequality(report: Report, options: RenderOptions) -> str:
    from reviewtool.render import codequality

    return codequality.render(report)


def _email(report: Report, options: RenderOptions) -> str:
    from reviewtool.render import email

    return email.render(report, options)


FORMATTERS: dict[str, Renderer] = {
    "text": _text,
    "json": _json,
    "markdown": _markdown,
    "sarif": _sarif,
    "email": _email,
    "codequality": _codequality,
}


def render(report: Report, format_name: str, options: RenderOptions | None = None) -> str:
    return FORMATTERS[format_name](report, options or RenderOptions())
