"""Compiler diagnostics (gcc and clang), parsed from build output, and their identity across
patches (what makes two the same diagnostic: not the line number)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_DIAGNOSTIC = re.compile(
    r"^(?P<path>[^:\s][^:]*):(?P<line>\d+):(?:(?P<column>\d+):)?\s*"
    r"(?P<severity>warning|error|fatal error|note):\s*(?P<message>.*?)"
    r"(?:\s+\[(?P<flag>-W[^\]]+|-Werror[^\]]*)\])?\s*$"
)
_IN_FUNCTION = re.compile(r"^(?P<path>[^:]+): In function [‘'`](?P<name>[^’'`]+)[’'`]:")
_KBUILD_STEP = re.compile(r"^  [A-Z][A-Z0-9_]*\s+\S")  # "  CC      mm/memory.o", "  LD ..."
_QUOTED = re.compile(r"[‘'`][^’'`]*[’'`]")


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    column: int
    severity: str  # error | warning
    flag: str
    message: str
    function: str = ""

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What makes two diagnostics the same one across patches: not the line number."""
        message = _QUOTED.sub("'…'", self.message) if self.severity == "note" else self.message
        message = re.sub(r"\b\d+\b", "N", message)
        return (self.path, self.function, self.flag, f"{self.severity}: {message}")


def parse_diagnostics(output: str, srctree: Path) -> list[Diagnostic]:
    """gcc/clang diagnostics (warnings and errors) from build output, paths made tree-relative."""
    prefix = str(srctree.resolve()) + "/"
    # gcc names the function once, on a "FILE: In function 'f':" line, before the diagnostics
    # in it; it holds for diagnostics of that same file until gcc says otherwise (another
    # function, "At top level:") or make starts another compilation (a kbuild "  CC" line).
    function, function_path = "", ""
    found: list[Diagnostic] = []
    for raw in output.splitlines():
        line = raw.rstrip()
        if match := _IN_FUNCTION.match(line):
            function = match.group("name")
            function_path = match.group("path").removeprefix(prefix).removeprefix("./")
            continue
        if line.endswith(": At top level:") or _KBUILD_STEP.match(line):
            function = function_path = ""
            continue
        match = _DIAGNOSTIC.match(line)
        if not match:
            continue
        severity = match.group("severity")
        if severity == "note":
            continue
        path = match.group("path").removeprefix(prefix).removeprefix("./")
        found.append(
            Diagnostic(
                path=path,
                line=int(match.group("line")),
                column=int(match.group("column") or 0),
                severity="error" if "error" in severity else "warning",
                flag=match.group("flag") or "",
                message=match.group("message").strip(),
                function=function if path == function_path else "",
            )
        )
    return found
