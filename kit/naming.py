"""Names of recording folders, made from the date and the broadcast title. Pure."""

from __future__ import annotations

import re
import time
import unicodedata
from pathlib import Path

MAX_SLUG = 40


def slug(title: str) -> str:
    """'Friday Sale 🎉 50%!' -> 'friday-sale-50'. Only [a-z0-9-]: safe in any path and
    in ffmpeg's segment pattern, where '%' would be read as a format."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return s[:MAX_SLUG].rstrip("-")


def session_dir(root: Path, title: str, now: float | None = None) -> Path:
    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.localtime(now))
    base = f"{stamp}_{slug(title) or 'broadcast'}"
    candidate, n = root / base, 2
    while candidate.exists():
        candidate, n = root / f"{base}-{n}", n + 1
    return candidate
