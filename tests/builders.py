"""Build small series mboxes in tests, so each check is tried on exactly the defect it targets."""

from __future__ import annotations

from dataclasses import dataclass, field

AUTHOR = "Ann Author <ann@example.org>"


@dataclass
class Msg:
    subject: str
    body: str
    message_id: str
    author: str = AUTHOR
    in_reply_to: str = ""
    date: str = "Fri, 15 Jan 2021 12:08:38 -0500"
    headers: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        lines = [
            "From mboxrd@z Thu Jan  1 00:00:00 1970",
            f"From: {self.author}",
            f"Subject: {self.subject}",
            f"Date: {self.date}",
            f"Message-Id: <{self.message_id}>",
        ]
        if self.in_reply_to:
            lines += [f"In-Reply-To: <{self.in_reply_to}>", f"References: <{self.in_reply_to}>"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        return "\n".join(lines) + "\n\n" + self.body + "\n"


def diff(path: str, added: list[str], *, context: str = "int x;") -> str:
    """A one-hunk diff adding lines after one line of context at the top of path."""
    body = "".join(f"+{line}\n" for line in added)
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -1,2 +1,{2 + len(added)} @@ int f(void)\n {context}\n{body} int y;\n"
    )


def stat(files: dict[str, int]) -> str:
    rows = "".join(f" {p} | {n} {'+' * n}\n" for p, n in files.items())
    total = sum(files.values())
    plural = "files" if len(files) != 1 else "file"
    return rows + f" {len(files)} {plural} changed, {total} insertions(+)\n"


def patch_body(
    path: str = "mm/a.c",
    added: list[str] | None = None,
    *,
    trailers: str = f"Signed-off-by: {AUTHOR}",
    message: str = "Do the thing.",
    diffstat: str | None = None,
) -> str:
    lines = added if added is not None else ["int z;"]
    shown = diffstat if diffstat is not None else stat({path: len(lines)})
    return f"{message}\n\n{trailers}\n---\n{shown}\n{diff(path, lines)}-- \n2.39.5\n"


def cover_body(files: dict[str, int]) -> str:
    return f"This series does things.\n\nAnn Author (2):\n  a\n  b\n\n{stat(files)}\n-- \n2.39.5\n"


def series(total: int = 2, *, cover: bool = True, revision: int = 1, tag: str = "s") -> list[Msg]:
    """A well-formed series: cover letter (optional) and `total` patches, each on its own file."""
    version = f" v{revision}" if revision > 1 else ""
    root = f"{tag}-0@example.org"
    msgs = []
    if cover:
        files = {f"mm/f{n}.c": 1 for n in range(1, total + 1)}
        msgs.append(Msg(f"[PATCH{version} 0/{total}] mm: things", cover_body(files), root))
    for n in range(1, total + 1):
        msgs.append(
            Msg(
                f"[PATCH{version} {n}/{total}] mm: thing {n}",
                patch_body(f"mm/f{n}.c"),
                f"{tag}-{n}@example.org",
                in_reply_to=root if cover else (f"{tag}-1@example.org" if n > 1 else ""),
            )
        )
    return msgs


def mbox(msgs: list[Msg]) -> bytes:
    return "".join(m.render() + "\n" for m in msgs).encode()
