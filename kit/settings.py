"""The page's edits, stored on top of the config file: validated, atomic, never lost.

The config file (``kit.toml``) is what the installer wrote; the phone page
changes a few of its keys (server, key, title, video, microphone, ring light mode) and keeps a
few things of its own (hashtags, the comment-filter keywords, the chosen
destination preset). Both live in ``settings.json`` under the state folder,
mode 0600, written with :func:`kit.fsutil.write_atomic`.

Every change is validated as a whole config (the same validators as the file)
before anything is written: a bad value is refused with a message per field
and nothing is saved. Each good save is written twice, to ``settings.good.json``
first and then to ``settings.json``; if ``settings.json`` cannot be read (a
corrupt card, a hand edit), the last good copy is used and :attr:`warning`
says so, so the daemon never ends in a crash loop.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kit import config as config_mod
from kit.config import Config, ConfigError, Problem
from kit.fsutil import write_atomic
from kit.messages import Message, define
from kit.secret import Secret

log = logging.getLogger(__name__)

FILE = "settings.json"
GOOD_FILE = "settings.good.json"

# Config keys the page may change, as "section.key".
EDITABLE = frozenset(
    {
        "stream.server",
        "stream.key",
        "stream.width",
        "stream.height",
        "stream.fps",
        "stream.bitrate_kbps",
        "audio.device",
        "broadcast.title",
        "light.mode",
    }
)
# The page's own values, with their defaults.
PAGE_DEFAULTS: dict[str, Any] = {"preset": "custom", "hashtags": "", "keywords": []}

MAX_KEYWORDS = 200
MAX_KEYWORD_LENGTH = 30
MAX_HASHTAGS = 30
MAX_HASHTAG_LENGTH = 100
_HASHTAG = re.compile(r"^#[^\s#]+$")

# What a refused page value is told; ids for the page's catalogue (kit.messages).
DAMAGED_LAST_GOOD = define(
    "settings.damaged",
    "The saved settings were damaged; the last good settings are in use. Check them and save "
    "again.",
)
DAMAGED_NO_COPY = define(
    "settings.damaged_no_copy",
    "The saved settings were damaged and no good copy was found; the config file's settings "
    "are in use. Set up the destination and title again.",
)
NOT_EDITABLE = define("settings.not_editable", "cannot be changed from the page")
CONTROL_CHARACTERS = define("title.control", "must not contain control characters")
TOO_MANY_HASHTAGS = define("hashtags.too_many", "at most {max} hashtags (has {n})")
NOT_A_HASHTAG = define("hashtags.invalid", "{tag} is not a hashtag: a # and a word, no spaces")
TOO_MANY_KEYWORDS = define("keywords.too_many", "at most {max} terms (has {n})")
KEYWORD_TOO_LONG = define("keywords.too_long", "{term} is longer than {max} characters")
KEYWORD_CONTROL = define("keywords.control", "a term contains control characters")


class SettingsError(ValueError):
    """Values that were refused, by "section.key" (or "page.<name>").

    ``fields`` maps each to what is wrong in English (logs, the CLI, the API);
    ``messages`` maps each to the same as a :class:`kit.messages.Message` (an id
    and values, which the page shows in the visitor's language) or, for a
    message without an id, the English text.
    """

    def __init__(self, fields: Mapping[str, Message | str]) -> None:
        self.messages: dict[str, Message | str] = dict(fields)
        self.fields: dict[str, str] = {k: str(v) for k, v in fields.items()}
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.fields.items()))


def config_to_dict(cfg: Config) -> dict[str, dict[str, Any]]:
    """The config as plain TOML-like data (secrets revealed: for validation only)."""
    out: dict[str, dict[str, Any]] = {}
    for section in dataclasses.fields(cfg):
        values = getattr(cfg, section.name)
        out[section.name] = {}
        for f in dataclasses.fields(values):
            v = getattr(values, f.name)
            if isinstance(v, Secret):
                v = v.reveal()
            elif isinstance(v, Path):
                v = str(v)
            out[section.name][f.name] = v
    return out


def _control_chars(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf") and c != "\u200d" for c in text)


def check_title(title: str) -> Message | None:
    if _control_chars(title.replace("\ufe0f", "")):
        return CONTROL_CHARACTERS()
    return config_mod.check_title_length(title)


def parse_hashtags(text: str) -> list[str]:
    """'#sale  #Friday,#live' -> ['#sale', '#Friday', '#live']; raises SettingsError."""
    tags = [t for t in re.split(r"[\s,]+", text.strip()) if t]
    tags = [t if t.startswith("#") else "#" + t for t in tags]
    if len(tags) > MAX_HASHTAGS:
        raise SettingsError({"page.hashtags": TOO_MANY_HASHTAGS(max=MAX_HASHTAGS, n=len(tags))})
    for t in tags:
        if len(t) > MAX_HASHTAG_LENGTH or not _HASHTAG.match(t) or _control_chars(t):
            raise SettingsError({"page.hashtags": NOT_A_HASHTAG(tag=repr(t[:40]))})
    return tags


def parse_keywords(text: str) -> list[str]:
    """One term per line (or comma-separated); blank lines and repeats dropped."""
    terms: list[str] = []
    for raw in re.split(r"[\n,]+", text):
        term = " ".join(raw.split())
        if term and term not in terms:
            terms.append(term)
    if len(terms) > MAX_KEYWORDS:
        raise SettingsError({"page.keywords": TOO_MANY_KEYWORDS(max=MAX_KEYWORDS, n=len(terms))})
    for term in terms:
        if len(term) > MAX_KEYWORD_LENGTH:
            message = KEYWORD_TOO_LONG(term=repr(term[:40]), max=MAX_KEYWORD_LENGTH)
            raise SettingsError({"page.keywords": message})
        if _control_chars(term):
            raise SettingsError({"page.keywords": KEYWORD_CONTROL()})
    return terms


class Settings:
    """The settings in force. ``current()`` is cheap (cached); ``update`` validates and saves."""

    def __init__(self, base: Config, state_dir: Path) -> None:
        self._base = base
        self._dir = state_dir
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Config], None]] = []
        self.warning = ""
        self.warning_said: Message | None = None
        self._overrides: dict[str, dict[str, Any]] = {}
        self._page: dict[str, Any] = dict(PAGE_DEFAULTS)
        self._current = base
        self._load()

    # -- reading -----------------------------------------------------------------

    def current(self) -> Config:
        return self._current

    def page(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._page))

    def _load(self) -> None:
        problems = []
        for name in (FILE, GOOD_FILE):
            path = self._dir / name
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                overrides, page = self._parse(data)
                self._current = self._build(overrides)
            except FileNotFoundError:
                if name == FILE:
                    return  # first start: nothing saved yet
                problems.append(f"{name}: missing")
                continue
            except (OSError, ValueError, TypeError, KeyError) as e:
                # ValueError covers JSON errors, ConfigError and SettingsError.
                detail = e.problems[0] if isinstance(e, ConfigError) else type(e).__name__
                problems.append(f"{name}: {detail}")
                log.warning("settings file %s is unusable (%s)", path, detail)
                continue
            self._overrides, self._page = overrides, page
            if problems:
                self._warn(DAMAGED_LAST_GOOD())
            return
        self._warn(DAMAGED_NO_COPY())
        log.warning("no usable settings file: %s", "; ".join(problems))

    def _warn(self, said: Message | None) -> None:
        # English for the log and the API; the message for the page's language.
        self.warning, self.warning_said = (str(said) if said else ""), said

    @staticmethod
    def _parse(data: Any) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        if not isinstance(data, dict):
            raise TypeError("not an object")
        overrides = data.get("config", {})
        page = {**PAGE_DEFAULTS, **data.get("page", {})}
        if not isinstance(overrides, dict) or not all(
            isinstance(v, dict) for v in overrides.values()
        ):
            raise TypeError("config is not a table of tables")
        for section, values in overrides.items():
            for key in values:
                if f"{section}.{key}" not in EDITABLE:
                    raise KeyError(f"{section}.{key}")
        if set(page) != set(PAGE_DEFAULTS):
            raise KeyError("page")
        parse_hashtags(str(page["hashtags"]))
        if not isinstance(page["keywords"], list):
            raise TypeError("keywords is not a list")
        parse_keywords("\n".join(map(str, page["keywords"])))
        return overrides, page

    def _build(self, overrides: dict[str, dict[str, Any]]) -> Config:
        data = config_to_dict(self._base)
        for section, values in overrides.items():
            data[section] = {**data[section], **values}
        return config_mod.from_dict(data, "settings")

    # -- writing -----------------------------------------------------------------

    def update(
        self, changes: dict[str, Any] | None = None, page: dict[str, Any] | None = None
    ) -> Config:
        """Apply ``{"stream.key": ..., ...}`` and page values, or raise SettingsError.

        Nothing is saved unless every value is valid.
        """
        changes = changes or {}
        page = page or {}
        unknown = [k for k in changes if k not in EDITABLE] + [
            f"page.{k}" for k in page if k not in PAGE_DEFAULTS
        ]
        if unknown:
            raise SettingsError({k: NOT_EDITABLE() for k in unknown})
        with self._lock:
            overrides = {s: dict(v) for s, v in self._overrides.items()}
            for dotted, value in changes.items():
                section, key = dotted.split(".", 1)
                overrides.setdefault(section, {})[key] = value
            errors: dict[str, Message | str] = {}
            if "broadcast.title" in changes:
                message = check_title(str(changes["broadcast.title"]))
                if message:
                    errors["broadcast.title"] = message
            try:
                cfg = self._build(overrides)
            except ConfigError as e:
                errors |= _field_errors(e.issues)
                cfg = None
            if errors or cfg is None:
                raise SettingsError(errors)
            new_page = {**self._page, **page}
            self._save(overrides, new_page)
            self._overrides, self._page, self._current = overrides, new_page, cfg
            self._warn(None)
        for listener in list(self._listeners):
            listener(cfg)
        return cfg

    def on_change(self, listener: Callable[[Config], None]) -> None:
        """Call ``listener`` with the new config after each saved update (in the thread
        that saved it, after the files are written)."""
        self._listeners.append(listener)

    def _save(self, overrides: dict[str, dict[str, Any]], page: dict[str, Any]) -> None:
        text = json.dumps({"config": overrides, "page": page}, ensure_ascii=False, indent=1)
        # The good copy first: whichever write a power cut interrupts, one file is whole.
        write_atomic(self._dir / GOOD_FILE, text, mode=0o600)
        write_atomic(self._dir / FILE, text, mode=0o600)
        log.info("settings saved (%s)", ", ".join(sorted(
            f"{s}.{k}" for s, v in overrides.items() for k in v
        )) or "defaults")  # fmt: skip


def _field_errors(problems: list[Problem]) -> dict[str, Message | str]:
    """Each problem's message by the field it is shown next to (the first one per field).

    Cross-field problems ('stream.width, stream.height: ...') go to the first field.
    """
    out: dict[str, Message | str] = {}
    for p in problems:
        out.setdefault(p.field, p.message)
    return out
