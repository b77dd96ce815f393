"""Patch subjects parsed the way b4 reads them: `[PATCH RFC v2 03/30] mm: do a thing`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_REPLY = re.compile(r"^\s*((re|aw|fwd?|sv)\s*:\s*)+", re.IGNORECASE)
_BRACKETS = re.compile(r"^\s*\[([^\[\]]*)\]\s*")
_COUNTER = re.compile(r"^(\d{1,4})/(\d{1,4})$")
_REVISION = re.compile(r"^v(\d{1,3})$", re.IGNORECASE)
_PATCH_REVISION = re.compile(r"^patch-?v(\d{1,3})$", re.IGNORECASE)


@dataclass(frozen=True)
class Subject:
    """What a subject line says about a message's place in a series.

    `counter`/`expected` are `3` and `30` for `03/30`; when the subject gives none they are 1/1
    and `counters_given` is False. `revision` is 1 unless `vN` is given. `prefixes` keeps every
    bracketed word that is not PATCH, a counter or a revision (`RFC`, `RESEND`, `net-next`).
    """

    raw: str
    title: str
    prefixes: tuple[str, ...]
    is_patch: bool
    is_reply: bool
    revision: int
    revision_given: bool
    counter: int
    expected: int
    counters_given: bool

    @property
    def is_rfc(self) -> bool:
        return any(p.upper() == "RFC" for p in self.prefixes)

    @property
    def is_resend(self) -> bool:
        return any(p.upper() == "RESEND" for p in self.prefixes)


def parse_subject(raw: str) -> Subject:
    """Parse a decoded, unfolded subject line."""
    text = raw.strip()
    reply = _REPLY.match(text)
    if reply:
        text = text[reply.end() :]
    tokens: list[str] = []
    while match := _BRACKETS.match(text):
        tokens.extend(match.group(1).replace(",", " ").split())
        text = text[match.end() :]
    is_patch = False
    revision: int | None = None
    counters: tuple[int, int] | None = None
    prefixes: list[str] = []
    for token in tokens:
        if token.upper() == "PATCH":
            is_patch = True
        elif m := _PATCH_REVISION.match(token):
            is_patch, revision = True, int(m.group(1))
        elif (m := _REVISION.match(token)) and revision is None:
            revision = int(m.group(1))
        elif (m := _COUNTER.match(token)) and counters is None:
            counters = (int(m.group(1)), int(m.group(2)))
        else:
            prefixes.append(token)
    counter, expected = counters or (1, 1)
    return Subject(
        raw=raw,
        title=text.strip(),
        prefixes=tuple(prefixes),
        is_patch=is_patch,
        is_reply=reply is not None,
        revision=revision or 1,
        revision_given=revision is not None,
        counter=counter,
        expected=expected,
        counters_given=counters is not None,
    )
