"""Messages: English for logs and the CLI, an id and values for the page.

The validators, the pre-flight checks, the daemon's status texts and the Wi-Fi
screen's errors all say things this way. A validator (or check) defines each of
its sentences once, at import time, with :func:`define` (an id and the English
text with ``{placeholders}``) and builds a :class:`Message` by calling the
template with the values. ``str(message)`` is the English sentence, so logs,
``kit config`` and the API read as before; the page looks ``"error." + message.id``
up in its catalogue (``web/i18n/``) and fills in the same values (:func:`render`).
Every defined id is in :data:`TEMPLATES`, so a test can check that each language
has it.

Values are shown as they are: a validator must never put a secret in one. A value may
itself be a :class:`Message` (translated in its turn: "Not checked: {problem}." with the
destination's own refusal as the problem) or a tuple of values (shown joined by ", ").
Where a message leaves the process (the status, ``kit check --json``) it travels as
:meth:`Message.as_dict`; :func:`render_dict` translates that form.

A new message: ``NAME = define("area.what", "English text with {value}")`` in
the validator, returned or raised as ``NAME(value=...)``; then
``"error.area.what"`` in web/i18n/en.json (the same English) and sv.json (the
same placeholders), and a row in tests/unit/test_messages_i18n.py (PAGE_RULES,
or NOT_FROM_THE_PAGE if no page field can show it) or, for a check, status, password
or Wi-Fi message, in a table of tests/unit/test_checks_i18n.py. The tests fail until
all three are there.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Every message id -> its English text; filled by define() as the validators are imported.
TEMPLATES: dict[str, str] = {}
CATALOGUE_PREFIX = "error."


def placeholders(text: str) -> set[str]:
    """'must be between {lo} and {hi}' -> {'lo', 'hi'}."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@dataclass(frozen=True)
class Message:
    """One refusal: an id, its English text and the values that fill it in."""

    id: str
    text: str
    # Each value is a str, a Message, or a tuple of those (see the module's docstring).
    values: tuple[tuple[str, Any], ...] = ()

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.values)

    @property
    def key(self) -> str:
        """The catalogue key of its translations."""
        return CATALOGUE_PREFIX + self.id

    def __str__(self) -> str:
        return self.text.format(**{k: _english(v) for k, v in self.values})

    def as_dict(self) -> dict[str, Any]:
        """{"id", "values", "text"} for JSON: nested messages as dicts, tuples as lists,
        "text" the English sentence."""
        return {
            "id": self.id,
            "values": {k: _as_json(v) for k, v in self.values},
            "text": str(self),
        }


@dataclass(frozen=True)
class Template:
    id: str
    text: str

    def __call__(self, **values: object) -> Message:
        expected = placeholders(self.text)
        if set(values) != expected:
            raise TypeError(f"message {self.id!r} takes {sorted(expected)}, got {sorted(values)}")
        return Message(self.id, self.text, tuple((k, _value(v)) for k, v in sorted(values.items())))

    def match(self, text: str) -> Message | None:
        """The message whose English is ``text``, values read back from it; None if ``text``
        is not this template's sentence. For English that comes from code that has no ids."""
        pattern = "".join(
            re.escape(literal) + (f"(?P<{name}>.+?)" if name else "")
            for literal, name, _, _ in string.Formatter().parse(self.text)
        )
        found = re.fullmatch(pattern, text, re.S)
        return None if found is None else self(**found.groupdict())


def define(id: str, text: str) -> Template:
    """Register a message id with its English text; an id has exactly one text."""
    if TEMPLATES.get(id, text) != text:
        raise ValueError(f"message id {id!r} is defined twice with different texts")
    TEMPLATES[id] = text
    return Template(id, text)


def render(message: Message | str, catalogue: Mapping[str, str]) -> str:
    """The message in the catalogue's language; its English text where there is no entry.

    A plain string (a message without an id) is shown as it is.
    """
    if isinstance(message, str):
        return message
    return render_dict(message.as_dict(), catalogue)


def render_dict(said: Mapping[str, Any], catalogue: Mapping[str, str]) -> str:
    """:func:`render` for a message as :meth:`Message.as_dict` gives it; a dict with a
    "text" and no "id" (English from elsewhere, an ffmpeg error) is shown as it is."""
    english = str(said.get("text", ""))
    key = CATALOGUE_PREFIX + str(said["id"]) if said.get("id") else ""
    text = catalogue.get(key) if key else None
    if not text:
        return english
    values = {k: _fill(v, catalogue) for k, v in (said.get("values") or {}).items()}
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        log.warning("catalogue entry %s does not fit the message's values", key)
        return english


def _value(v: object) -> Any:
    if isinstance(v, Message):
        return v
    if isinstance(v, (tuple, list)):
        return tuple(_value(x) for x in v)
    return str(v)


def _english(v: Any) -> str:
    if isinstance(v, tuple):
        return ", ".join(_english(x) for x in v)
    return str(v)


def _as_json(v: Any) -> Any:
    if isinstance(v, Message):
        return v.as_dict()
    if isinstance(v, tuple):
        return [_as_json(x) for x in v]
    return v


def _fill(v: Any, catalogue: Mapping[str, str]) -> str:
    if isinstance(v, Mapping):
        return render_dict(v, catalogue)
    if isinstance(v, (list, tuple)):
        return ", ".join(_fill(x, catalogue) for x in v)
    return str(v)
