"""reviewtool: a review assistant for Linux kernel patch series."""

from __future__ import annotations

__version__ = "0.1.0"
