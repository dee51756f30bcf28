"""Validator messages: English for logs and the CLI, an id and values for the page.

A validator defines each of its sentences once, at import time, with
:func:`define` (an id and the English text with ``{placeholders}``) and builds
a :class:`Message` by calling the template with the values. ``str(message)``
is the English sentence, so logs, ``kit config`` and the API read as before;
the page looks ``"error." + message.id`` up in its catalogue (``web/i18n/``)
and fills in the same values (:func:`render`). Every defined id is in
:data:`TEMPLATES`, so a test can check that each language has it.

Values are shown as they are: a validator must never put a secret in one.

A new message: ``NAME = define("area.what", "English text with {value}")`` in
the validator, returned or raised as ``NAME(value=...)``; then
``"error.area.what"`` in web/i18n/en.json (the same English) and sv.json (the
same placeholders), and a row in tests/unit/test_messages_i18n.py (PAGE_RULES,
or NOT_FROM_THE_PAGE if no page field can show it). The tests fail until all
three are there.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass

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
    values: tuple[tuple[str, str], ...] = ()

    @property
    def params(self) -> dict[str, str]:
        return dict(self.values)

    @property
    def key(self) -> str:
        """The catalogue key of its translations."""
        return CATALOGUE_PREFIX + self.id

    def __str__(self) -> str:
        return self.text.format(**self.params)


@dataclass(frozen=True)
class Template:
    id: str
    text: str

    def __call__(self, **values: object) -> Message:
        expected = placeholders(self.text)
        if set(values) != expected:
            raise TypeError(f"message {self.id!r} takes {sorted(expected)}, got {sorted(values)}")
        return Message(self.id, self.text, tuple((k, str(v)) for k, v in sorted(values.items())))


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
    text = catalogue.get(message.key)
    if not text:
        return str(message)
    try:
        return text.format(**message.params)
    except (KeyError, IndexError, ValueError):
        log.warning("catalogue entry %s does not fit the message's values", message.key)
        return str(message)
