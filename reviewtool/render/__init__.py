"""One renderer per output format, chosen from FORMATTERS; each is a pure function of the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reviewtool.report import Report


@dataclass(frozen=True)
class RenderOptions:
    """`rich` asks the text renderer for rich tables (the CLI sets it when stdout is a TTY)."""

    rich: bool = False
    width: int = 100


Renderer = Callable[[Report, RenderOptions], str]


def _text(report: Report, options: RenderOptions) -> str:
    from reviewtool.render import text

    return text.render(report, options)


def _json(report: Report, options: RenderOptions) -> str:
    from reviewtool.render import json

    return json.render(report)


def _markdown(report: Report, options: RenderOptions) -> str:
    from reviewtool.render import markdown

    return markdown.render(report)


def _sarif(report: Report, options: RenderOptions) -> str:
    from reviewtool.render import sarif

    return sarif.render(report)


FORMATTERS: dict[str, Renderer] = {
    "text": _text,
    "json": _json,
    "markdown": _markdown,
    "sarif": _sarif,
}


def render(report: Report, format_name: str, options: RenderOptions | None = None) -> str:
    return FORMATTERS[format_name](report, options or RenderOptions())
