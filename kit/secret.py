"""A value that must never reach a log line, an error message or the page."""

from __future__ import annotations


class Secret:
    """Wraps a secret string; every way of printing it shows only the last 4 characters.

    The real value is available only through :meth:`reveal`, so a secret can only
    leak where code asks for it by name (the argv builder, the settings file).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def masked(self) -> str:
        return mask(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    __str__ = masked


def mask(value: str) -> str:
    """'stream-123?expire=1&sign=abcd' -> '••••abcd'; short values show nothing."""
    if not value:
        return ""
    if len(value) <= 8:
        return "••••"
    return "••••" + value[-4:]


def redact(text: str, *secrets: str) -> str:
    """Replace every occurrence of each secret (and its URL-escaped forms) in text.

    Callers pass every form in which they wrote the secret (for example the
    backslash-escaped form inside ffmpeg's tee syntax) as separate secrets.
    """
    from urllib.parse import quote

    for s in secrets:
        if not s:
            continue
        for form in {s, quote(s, safe=""), quote(s, safe="/:?&=")}:
            text = text.replace(form, mask(s))
    return text
