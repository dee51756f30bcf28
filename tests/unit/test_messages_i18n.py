"""The page's validation messages in the visitor's language.

The validators (kit.config, kit.destination, kit.settings) say what is wrong in
English, with an id and values next to it (kit.messages); the page shows
``error.<id>`` from its catalogue. So do the pre-flight checks, the daemon's status
texts, the password rules and the Wi-Fi screen's errors: their tables are in
tests/unit/test_checks_i18n.py, and the drift check below counts them too.

Checked here: every id the validators can emit has an English and a Swedish entry with
the same placeholders (the ids come from the validators' registry, not from a list in
this file); every rule that can refuse a field on the page shows its message in
Swedish on the Swedish page and in English on the English one, next to the field,
saving nothing; a stream key never appears in either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

import kit.api.web  # imports every validator, so the registry is complete
import kit.daemon  # the checks (health, microphone, network) and the status texts
import kit.media.camclient  # the camera process: missing, busy, crashed
import kit.media.picam  # the light check
from kit.config import RANGE
from kit.messages import TEMPLATES, Message, Template, define, placeholders, render, render_dict
from kit.settings import SettingsError, parse_hashtags
from tests.unit.test_checks_i18n import covered
from tests.unit.test_web_routes import Kit, logged_in

CATALOGUES = {
    lang: json.loads((kit.api.web.web_root() / "i18n" / f"{lang}.json").read_text("utf-8"))
    for lang in ("en", "sv")
}
HEADERS = {"en": {"Accept-Language": "en-GB,en;q=0.9"}, "sv": {"Accept-Language": "sv-SE,sv"}}
# A marker long enough that finding it on a page can only mean the key leaked.
M = "ZQXSECRETMARKER0123456789"
SERVER = "rtmp://example.com/live/"
PICTURE = {"video": "720x1280", "fps": "30", "bitrate": "2500", "device": ""}
# Ids whose text is the same in every language (punctuation around other messages).
SAME_IN_EVERY_LANGUAGE = {"check.wifi.details"}


# -- the catalogues against the registry ---------------------------------------------


def test_the_registry_is_filled_by_the_validators() -> None:
    # A sample from each validator module, so an import that stopped registering shows here.
    assert {"server.scheme", "stream_key.forbidden", "value.range", "hashtags.invalid"} <= set(
        TEMPLATES
    )
    # ... and from the checks, the status, the password rules and the Wi-Fi screen.
    assert {"check.disk.low", "check.wifi.weak", "check.power.low_now", "check.mic_level.level",
            "check.light.dark", "status.network_behind", "advice.key_rejected",
            "password.too_short", "wifi.password_short"} <= set(TEMPLATES)  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "sv"])
@pytest.mark.parametrize("id", sorted(TEMPLATES))
def test_every_message_id_has_an_entry_with_the_same_placeholders(lang: str, id: str) -> None:
    text = CATALOGUES[lang].get("error." + id)
    assert text, f"error.{id} is missing from {lang}.json"
    assert placeholders(text) == placeholders(TEMPLATES[id]), f"{lang}: error.{id}"
    if lang == "en":
        # The English page says what the CLI and the logs say.
        assert text == TEMPLATES[id]
    elif id not in SAME_IN_EVERY_LANGUAGE:
        assert text != TEMPLATES[id], f"error.{id} is not translated"


def test_no_catalogue_entry_for_a_message_that_no_longer_exists() -> None:
    for lang, strings in CATALOGUES.items():
        stale = {k for k in strings if k.startswith("error.")} - {f"error.{i}" for i in TEMPLATES}
        assert not stale, f"{lang}: {sorted(stale)}"


# -- kit.messages ---------------------------------------------------------------------


def test_a_message_is_english_text_with_an_id_and_values() -> None:
    msg = RANGE(lo=15, hi=60, got=90)
    assert str(msg) == "must be between 15 and 60 (got 90)"
    assert (msg.id, msg.key, msg.params) == (
        "value.range",
        "error.value.range",
        {"lo": "15", "hi": "60", "got": "90"},
    )
    assert render(msg, CATALOGUES["sv"]) == "måste vara mellan 15 och 60 (angivet: 90)"
    assert render(msg, CATALOGUES["en"]) == str(msg)
    with pytest.raises(TypeError):
        RANGE(lo=1, hi=2)  # a missing value is a bug, not a blank on the page


def test_render_falls_back_to_english() -> None:
    msg = Message("nowhere.defined", "no such {thing}", (("thing", "entry"),))
    assert render(msg, CATALOGUES["sv"]) == "no such entry"
    assert render("plain English, no id", CATALOGUES["sv"]) == "plain English, no id"
    # An entry that does not fit the values (a placeholder typo) shows the English.
    assert render(msg, {"error.nowhere.defined": "inget {sak}"}) == "no such entry"


def test_nested_messages_and_lists_are_translated_in_their_turn() -> None:
    outer = Template("t.outer", "Not checked: {problem} ({parts}).")
    msg = outer(problem=RANGE(lo=1, hi=2, got=3), parts=("5 GHz", Template("t.x", "eco")()))
    assert str(msg) == "Not checked: must be between 1 and 2 (got 3) (5 GHz, eco)."
    cat = {**CATALOGUES["sv"], "error.t.outer": "Ej kontrollerat: {problem} ({parts}).",
           "error.t.x": "spar"}  # fmt: skip
    sv = "Ej kontrollerat: måste vara mellan 1 och 2 (angivet: 3) (5 GHz, spar)."
    assert render(msg, cat) == sv
    # As it travels in the status and kit check --json, and back.
    assert render_dict(json.loads(json.dumps(msg.as_dict())), cat) == sv
    assert render_dict({"text": "what ffmpeg said"}, cat) == "what ffmpeg said"
    assert render_dict({"id": "t.none", "values": {}, "text": "English"}, cat) == "English"


def test_a_template_recognises_its_own_english() -> None:
    level = Template("t.level", "Level {rms} dBFS, peaks at {peak} dBFS.")
    assert level.match("Level -20 dBFS, peaks at -6 dBFS.") == level(rms="-20", peak="-6")
    assert level.match("Level -20 dBFS.") is None
    assert (
        Template("t.plain", "Silent (x).").match("Silent (x).")
        == Template("t.plain", "Silent (x).")()
    )


def test_an_id_has_one_text() -> None:
    assert define("value.range", TEMPLATES["value.range"]).id == "value.range"
    with pytest.raises(ValueError, match="defined twice"):
        define("value.range", "something else")


def test_settings_error_keeps_english_fields_next_to_the_messages() -> None:
    with pytest.raises(SettingsError) as e:
        parse_hashtags("#ok #no#pe")
    assert e.value.fields == {
        "page.hashtags": "'#no#pe' is not a hashtag: a # and a word, no spaces"
    }
    m = e.value.messages["page.hashtags"]
    assert isinstance(m, Message) and m.id == "hashtags.invalid"
    assert str(e.value) == "page.hashtags: '#no#pe' is not a hashtag: a # and a word, no spaces"
    assert SettingsError({"x": "plain"}).messages == {"x": "plain"}


# -- every rule a page field can show, in both languages ------------------------------

# (route, form, field, message id, values). The form is merged onto a valid one.
PAGE_RULES: list[tuple[str, dict[str, str], str, str, dict[str, Any]]] = [
    ("/destination", {"server": "rtmp://h/" + "a" * 600}, "stream.server", "server.too_long",
     {"max": 512}),
    ("/destination", {"server": "rtmp://ex ample.com/live/"}, "stream.server",
     "server.characters", {}),
    ("/destination", {"server": "http://example.com/live/"}, "stream.server", "server.scheme", {}),
    ("/destination", {"server": "rtmp://example.com/live#x"}, "stream.server", "server.query", {}),
    ("/destination", {"server": "rtmp://u:p@example.com/live"}, "stream.server",
     "server.userinfo", {}),
    ("/destination", {"server": "rtmp://-bad-.example/live"}, "stream.server", "server.host", {}),
    ("/destination", {"server": "rtmp://example.com"}, "stream.server", "server.no_app", {}),
    ("/destination", {"server": "rtmp://example.com/li%20ve"}, "stream.server",
     "server.app_characters", {}),
    ("/destination", {"server": "rtmp://example.com:0/live"}, "stream.server", "server.port", {}),
    ("/destination", {"key": M * 50}, "stream.key", "stream_key.too_long", {"max": 1024}),
    ("/destination", {"key": f"{M} {M}"}, "stream.key", "stream_key.space", {}),
    ("/destination", {"key": f"{M}\x01{M}"}, "stream.key", "stream_key.control", {}),
    ("/destination", {"key": f"{M}é{M}"}, "stream.key", "stream_key.non_ascii", {}),
    ("/destination", {"key": f"{M}|{M}"}, "stream.key", "stream_key.forbidden",
     {"char": "'|'"}),
    ("/broadcast", {"title": "x" * 33}, "broadcast.title", "title.too_long", {"max": 32, "n": 33}),
    ("/broadcast", {"title": "bad\x07bell"}, "broadcast.title", "title.control", {}),
    ("/broadcast", {"hashtags": " ".join(f"#t{i}" for i in range(31))}, "page.hashtags",
     "hashtags.too_many", {"max": 30, "n": 31}),
    ("/broadcast", {"hashtags": "#ok #no#pe"}, "page.hashtags", "hashtags.invalid",
     {"tag": "'#no#pe'"}),
    ("/broadcast", {"keywords": "\n".join(f"w{i}" for i in range(201))}, "page.keywords",
     "keywords.too_many", {"max": 200, "n": 201}),
    ("/broadcast", {"keywords": "y" * 31}, "page.keywords", "keywords.too_long",
     {"term": repr("y" * 31), "max": 30}),
    ("/broadcast", {"keywords": "ok\nbad\x07term"}, "page.keywords", "keywords.control", {}),
    ("/picture", {"fps": "90"}, "stream.fps", "value.range", {"lo": 15, "hi": 60, "got": 90}),
    ("/picture", {"bitrate": "100"}, "stream.bitrate_kbps", "value.range",
     {"lo": 500, "hi": 12000, "got": 100}),
    ("/picture", {"device": "hw:CARD=x;rm -rf"}, "audio.device", "audio.device",
     {"got": "'hw:CARD=x;rm -rf'"}),
    ("/picture/light", {"mode": "disco"}, "light.mode", "value.one_of",
     {"choices": "broadcast, always, manual", "got": "'disco'"}),
]  # fmt: skip
VALID = {
    "/destination": {"preset": "custom", "server": SERVER, "key": "live_abcd"},
    "/broadcast": {"title": "ok", "hashtags": "", "keywords": ""},
    "/picture": PICTURE,
    "/picture/light": {"mode": "broadcast"},
}
# Messages no page field can show, and why: the page's forms never send them.
NOT_FROM_THE_PAGE = {
    "server.not_set", "stream_key.not_set",  # an empty server or key is allowed in settings
    "path.absolute", "path.percent", "gpio.pin", "gpio.distinct", "web.host", "url.upload",
    "video.even", "video.portrait",  # the page offers two sizes only
    "type.string", "type.path", "type.int", "type.str", "type.bool", "type.float",
    "config.not_table", "config.unknown_section", "config.unknown_section_suggest",
    "config.unknown_key", "config.unknown_key_suggest", "settings.not_editable",
}  # fmt: skip


def test_every_message_is_either_tested_on_the_page_or_known_not_to_reach_it() -> None:
    # A new validator message must be added to PAGE_RULES (or, if no field can show
    # it, to NOT_FROM_THE_PAGE); a new check, status, password or Wi-Fi message to a
    # table in test_checks_i18n.py: this keeps the tables from drifting behind the code.
    on_page = {row[3] for row in PAGE_RULES}
    assert not on_page & NOT_FROM_THE_PAGE
    untested = set(TEMPLATES) - on_page - NOT_FROM_THE_PAGE - covered()
    assert not untested, sorted(untested)
    assert covered() <= set(TEMPLATES), sorted(covered() - set(TEMPLATES))


@pytest.fixture(scope="module")
def page_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kit, Any, str]]:
    k = Kit(Path(tmp_path_factory.mktemp("kit")))
    client, token = logged_in(k)
    yield k, client, token
    k.close()


def error_next_to(html: str, field: str) -> str:
    name = field.replace(".", "-")
    found = re.findall(rf'<p class="err" id="err-{re.escape(name)}" role="alert">(.*?)</p>', html)
    assert len(found) == 1, html
    assert f'aria-describedby="err-{name}"' in html
    return str(found[0])


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize(
    ("route", "form", "field", "id", "values"),
    PAGE_RULES,
    ids=[f"{row[3]}-{row[2]}" for row in PAGE_RULES],
)
def test_a_refused_field_shows_the_message_in_the_page_language_and_nothing_is_saved(
    page_kit: tuple[Kit, Any, str],
    lang: str,
    route: str,
    form: dict[str, str],
    field: str,
    id: str,
    values: dict[str, Any],
) -> None:
    k, client, token = page_kit
    before = k.settings.current(), k.settings.page()
    r = client.post(route, data={"csrf": token, **VALID[route], **form}, headers=HEADERS[lang])
    assert r.status_code == 400, r.text
    expected = CATALOGUES[lang]["error." + id].format(**values)
    assert error_next_to(r.text, field) == str(escape(expected))
    assert f'lang="{lang}"' in r.text
    if lang == "sv":
        assert TEMPLATES[id].format(**values) not in r.text  # no English left over
    assert (k.settings.current(), k.settings.page()) == before
    assert not (k.state / "settings.json").exists()
    assert M[:8] not in r.text  # the key is never echoed, in any language


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_two_refused_fields_each_get_their_own_message(
    page_kit: tuple[Kit, Any, str], lang: str
) -> None:
    _, client, token = page_kit
    data = {"csrf": token, "preset": "custom", "server": "http://x/live/", "key": f"{M}|"}
    r = client.post("/destination", data=data, headers=HEADERS[lang])
    assert r.status_code == 400
    cat = CATALOGUES[lang]
    assert error_next_to(r.text, "stream.server") == str(escape(cat["error.server.scheme"]))
    key_message = cat["error.stream_key.forbidden"].format(char="'|'")
    assert error_next_to(r.text, "stream.key") == str(escape(key_message))
    assert M[:8] not in r.text


def test_the_page_own_checks_are_translated_too(page_kit: tuple[Kit, Any, str]) -> None:
    # Refusals the page makes itself (before the validators) come from its catalogue.
    _, client, token = page_kit
    data = {"csrf": token, **PICTURE, "video": "640x480", "fps": "abc"}
    r = client.post("/picture", data=data, headers=HEADERS["sv"])
    assert error_next_to(r.text, "stream.width") == CATALOGUES["sv"]["picture.bad_video"]
    assert error_next_to(r.text, "stream.fps") == CATALOGUES["sv"]["not_a_number"]
