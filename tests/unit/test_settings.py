"""Settings from the page: validated as a whole, saved atomically (0600), never a crash loop."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from kit.config import from_dict
from kit.messages import Message
from kit.settings import Settings, SettingsError

KEY = "stream-1?expire=1&sign=abcd"


def base(tmp: Path):  # type: ignore[no-untyped-def]
    return from_dict({"state": {"dir": str(tmp)}, "recording": {"dir": str(tmp / "rec")}})


def test_a_saved_change_is_in_force_and_survives_a_restart(tmp_path: Path) -> None:
    s = Settings(base(tmp_path), tmp_path)
    s.update({"stream.server": "rtmp://h/live/", "stream.key": KEY, "broadcast.title": "Hi 🎉"},
             {"keywords": ["spam"]})  # fmt: skip
    assert s.current().stream.key.reveal() == KEY
    assert (tmp_path / "settings.json").stat().st_mode & 0o777 == 0o600
    again = Settings(base(tmp_path), tmp_path)
    assert again.current().broadcast.title == "Hi 🎉" and again.page()["keywords"] == ["spam"]
    assert again.warning == ""


def test_a_bad_value_saves_nothing(tmp_path: Path) -> None:
    s = Settings(base(tmp_path), tmp_path)
    with pytest.raises(SettingsError) as e:
        s.update({"stream.server": "rtmp://h/live/", "stream.key": "bad|key"})
    assert "stream.key" in e.value.fields and "bad|key" not in str(e.value)
    with pytest.raises(SettingsError) as e:
        s.update({"stream.width": 1000})
    assert e.value.fields == {  # a cross-field problem is shown next to its first field
        "stream.width": "must be portrait 9:16, such as 720x1280 or 1080x1920 (got 1000x1280)"
    }
    with pytest.raises(SettingsError) as e:
        s.update({"state.dir": "/tmp"})  # not editable from the page
    assert e.value.fields == {"state.dir": "cannot be changed from the page"}
    assert not (tmp_path / "settings.json").exists()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"stream.key": "bad|key"}, {"stream.key": "stream_key.forbidden"}),
        ({"stream.server": "http://h/live", "stream.fps": 90},
         {"stream.server": "server.scheme", "stream.fps": "value.range"}),
        ({"stream.width": 1080}, {"stream.width": "video.portrait"}),
        ({"broadcast.title": "a\x07b"}, {"broadcast.title": "title.control"}),
        ({"broadcast.title": "x" * 33}, {"broadcast.title": "title.too_long"}),
        ({"light.mode": "disco"}, {"light.mode": "value.one_of"}),
        ({"gpio.led": 5}, {"gpio.led": "settings.not_editable"}),
    ],
    ids=["key", "two-fields", "cross-field", "title-control", "title-long", "choice",
         "not-editable"],
)  # fmt: skip
def test_each_refused_field_has_its_english_text_and_a_message_id(
    tmp_path: Path, changes: dict[str, object], expected: dict[str, str]
) -> None:
    s = Settings(base(tmp_path), tmp_path)
    with pytest.raises(SettingsError) as e:
        s.update(changes)
    assert set(e.value.fields) == set(expected) == set(e.value.messages)
    for name, id in expected.items():
        m = e.value.messages[name]
        assert isinstance(m, Message) and m.id == id
        assert e.value.fields[name] == str(m)  # English for logs, the CLI and the API
    assert "bad|key" not in str(e.value)
    assert not (tmp_path / "settings.json").exists()


def test_a_corrupt_file_falls_back_to_the_last_good_copy(tmp_path: Path) -> None:
    Settings(base(tmp_path), tmp_path).update({"broadcast.title": "Good"})
    (tmp_path / "settings.json").write_text('{"config": {"broadcast": {"title": ')
    s = Settings(base(tmp_path), tmp_path)
    assert s.current().broadcast.title == "Good"
    assert "last good" in s.warning


def test_both_files_bad_means_the_config_file_and_a_warning(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("\x00garbage")
    (tmp_path / "settings.good.json").write_text('{"config": {"stream": {"width": 5}}}')
    s = Settings(base(tmp_path), tmp_path)
    assert s.current() == base(tmp_path)
    assert "config file" in s.warning
    s.update({"broadcast.title": "fixed"})
    assert s.warning == ""


@pytest.mark.parametrize(
    ("files", "id", "swedish"),
    [
        ({"settings.json": "{", "settings.good.json": '{"config": {}, "page": {}}'},
         "settings.damaged", "de senaste fungerande inställningarna används"),
        ({"settings.json": "\x00garbage"}, "settings.damaged_no_copy",
         "konfigurationsfilens inställningar används"),
    ],
)  # fmt: skip
def test_the_page_says_the_settings_were_damaged_in_its_language(
    tmp_path: Path, files: dict[str, str], id: str, swedish: str
) -> None:
    from tests.unit.test_web_routes import Kit, logged_in

    state = tmp_path / "state"
    state.mkdir()
    for name, text in files.items():
        (state / name).write_text(text)
    kit = Kit(tmp_path)
    try:
        assert kit.settings.warning_said is not None and kit.settings.warning_said.id == id
        c, _ = logged_in(kit)
        assert swedish in c.get("/", headers={"Accept-Language": "sv"}).text
        english = html.unescape(c.get("/", headers={"Accept-Language": "en"}).text)
        assert kit.settings.warning in english
    finally:
        kit.close()


def test_listeners_hear_saved_changes_only(tmp_path: Path) -> None:
    """The Conductor clears an error about a destination that was replaced from here."""
    s = Settings(base(tmp_path), tmp_path)
    heard: list[str] = []
    s.on_change(lambda cfg: heard.append(cfg.stream.server))
    s.update({"stream.server": "rtmp://h/live/"})
    with pytest.raises(SettingsError):
        s.update({"stream.server": "rtmp://h/live/", "stream.key": "bad|key"})
    assert heard == ["rtmp://h/live/"]
    assert (tmp_path / "settings.json").exists()  # written before anyone was told
