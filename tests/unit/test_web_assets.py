"""The page's weight, its catalogues, presets and paste-splitting."""

from __future__ import annotations

import json
import re

import pytest

from kit.api.presets import split_paste
from kit.api.web import web_root

BUDGET = 150 * 1024


def test_html_css_js_fit_in_150_kb() -> None:
    root = web_root()
    files = [p for p in root.rglob("*") if p.suffix in (".html", ".css", ".js", ".json")]
    total = sum(p.stat().st_size for p in files)
    assert files and total <= BUDGET, f"{total} bytes"


def test_nothing_comes_from_another_host() -> None:
    for p in web_root().rglob("*"):
        if p.suffix in (".html", ".css", ".js"):
            text = p.read_text()
            assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), p
            assert "@import" not in text and "@font-face" not in text


def test_catalogues_have_the_same_keys() -> None:
    en = json.loads((web_root() / "i18n" / "en.json").read_text())
    sv = json.loads((web_root() / "i18n" / "sv.json").read_text())
    assert set(en) == set(sv)
    for key, text in en.items():
        assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", sv[key])), key


@pytest.mark.parametrize(
    ("server", "key", "preset", "expected"),
    [
        (" rtmps://push.tiktokcdn.com:443/game/ ", "", "tiktok",
         ("rtmps://push.tiktokcdn.com:443/game/", "")),
        ("rtmps://push.tiktokcdn.com:443/game/stream-1?expire=2&sign=ab", "", "tiktok",
         ("rtmps://push.tiktokcdn.com:443/game/", "stream-1?expire=2&sign=ab")),
        ("rtmp://a.rtmp.youtube.com/live2/abcd-efgh", "", "youtube",
         ("rtmp://a.rtmp.youtube.com/live2/", "abcd-efgh")),
        ("rtmp://h/live/key1", " typed ", "tiktok", ("rtmp://h/live/", "typed")),
        ("rtmp://h/a/b/key?x=1", "", "custom", ("rtmp://h/a/b/", "key?x=1")),
        ("rtmp://h/live", "", "custom", ("rtmp://h/live", "")),
        ("not a url", "", "custom", ("not a url", "")),
    ],
)  # fmt: skip
def test_split_paste(server: str, key: str, preset: str, expected: tuple[str, str]) -> None:
    assert split_paste(server, key, preset) == expected
