"""kit.config: typed values, every problem reported at once, secrets masked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kit import config
from kit.config import Config, ConfigError, Problem, describe, from_dict, load, title_length
from kit.messages import Message
from kit.secret import Secret

SAMPLE = """\
[stream]
server = "rtmps://push-rtmp-l11-sg01.tiktokcdn.com:443/game/"
key = "stream-7311111111111111111?expire=1790000000&sign=0123abcd"
width = 720
height = 1280
fps = 30
bitrate_kbps = 2500
[recording]
dir = "/var/lib/kit/recordings"
[state]
dir = "/var/lib/kit"
[web]
host = "0.0.0.0"
port = 8080
[gpio]
button = 17
relay = 27
led = 22
"""
SAMPLE_KEY = "stream-7311111111111111111?expire=1790000000&sign=0123abcd"
# Distinctive enough that finding it in a message means the key leaked.
M = "ZQXSECRETMARKER0123456789"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as e:
        from_dict(data)
    # Every problem carries an id and values for the page, and reads the same in English.
    assert [str(p) for p in e.value.issues] == e.value.problems
    for p in e.value.issues:
        assert isinstance(p.message, Message), p
    return e.value.problems


def test_defaults() -> None:
    cfg = Config()
    assert (cfg.stream.server, cfg.stream.key) == ("", Secret(""))
    assert (cfg.stream.width, cfg.stream.height, cfg.stream.fps) == (720, 1280, 30)
    assert (cfg.stream.bitrate_kbps, cfg.stream.encoder) == (2500, "auto")
    assert cfg.recording.dir == Path("/var/lib/kit/recordings")
    assert cfg.state.dir == Path("/var/lib/kit")
    assert (cfg.web.host, cfg.web.port) == ("0.0.0.0", 8080)
    assert (cfg.gpio.button, cfg.gpio.relay, cfg.gpio.led) == (17, 27, 22)
    assert cfg.broadcast.title == ""


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load(_write(tmp_path, "")) == Config()


def test_sample_loads_typed(tmp_path: Path) -> None:
    cfg = load(_write(tmp_path, SAMPLE))
    assert cfg.stream.server == "rtmps://push-rtmp-l11-sg01.tiktokcdn.com:443/game/"
    assert isinstance(cfg.stream.key, Secret)
    assert cfg.stream.key.reveal() == SAMPLE_KEY
    assert (cfg.stream.width, cfg.stream.height, cfg.stream.fps) == (720, 1280, 30)
    assert cfg.stream.bitrate_kbps == 2500
    assert cfg.recording.dir == Path("/var/lib/kit/recordings")
    assert isinstance(cfg.state.dir, Path)
    assert cfg.state.dir == Path("/var/lib/kit")
    assert (cfg.web.host, cfg.web.port) == ("0.0.0.0", 8080)
    assert (cfg.gpio.button, cfg.gpio.relay, cfg.gpio.led) == (17, 27, 22)


def test_sample_key_is_masked_everywhere(tmp_path: Path) -> None:
    cfg = load(_write(tmp_path, SAMPLE))
    assert str(cfg.stream.key) == "••••abcd"
    assert repr(cfg.stream.key) == "Secret('••••abcd')"
    # The whole config printed (a debug log, say) must not carry the key either.
    for text in (repr(cfg), str(cfg), repr(cfg.stream), f"{cfg.stream.key}"):
        assert "sign=0123" not in text
        assert "7311111111" not in text


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    text = """\
[strem]
server = "x"
[stream]
birate_kbps = 3000
fps = 100
[web]
port = "8080"
"""
    with pytest.raises(ConfigError) as e:
        load(_write(tmp_path, text))
    problems = e.value.problems
    assert len(problems) == 4, problems
    assert "4 problem(s)" in str(e.value)
    joined = "\n".join(problems)
    for fragment in ("[strem]", "stream.birate_kbps", "stream.fps", "web.port"):
        assert fragment in joined


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"stream": {"birate_kbps": 3000}},
         "stream.birate_kbps: unknown key (did you mean 'bitrate_kbps'?)"),
        ({"strem": {}}, "[strem]: unknown section (did you mean 'stream'?)"),
        ({"gpio": {"buton": 5}}, "gpio.buton: unknown key (did you mean 'button'?)"),
        ({"web": {"zzzzzz": 1}}, "web.zzzzzz: unknown key"),
    ],
    ids=["key", "section", "gpio-key", "no-suggestion"],
)  # fmt: skip
def test_unknown_names_get_suggestions(data: dict[str, object], expected: str) -> None:
    assert _problems(data) == [expected]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"stream": {"width": "720"}}, "stream.width: must be an int (got '720')"),
        ({"web": {"port": True}}, "web.port: must be an int (got True)"),
        ({"stream": {"fps": 29.97}}, "stream.fps: must be an int (got 29.97)"),
        ({"web": {"host": 8080}}, "web.host: must be a str (got 8080)"),
        ({"gpio": {"relay_active_high": 1}}, "gpio.relay_active_high: must be a bool (got 1)"),
        ({"stream": {"key": 1234}}, "stream.key: must be a string"),
        ({"recording": {"dir": ""}}, "recording.dir: must be a path as a string"),
        ({"web": "8080"}, "[web] must be a table"),
    ],
    ids=["str-for-int", "true-for-port", "float-for-int", "int-for-str", "int-for-bool",
         "int-for-key", "empty-path", "value-for-section"],
)  # fmt: skip
def test_wrong_types(data: dict[str, object], expected: str) -> None:
    assert _problems(data) == [expected]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"stream": {"fps": 100}}, "stream.fps: must be between 15 and 60"),
        ({"stream": {"encoder": "nvenc"}}, "stream.encoder: must be one of"),
        ({"recording": {"dir": "recordings"}}, "recording.dir: must be an absolute path"),
        ({"web": {"host": "localhost"}}, "web.host: must be an IP address"),
        ({"gpio": {"led": 1}}, "gpio.led: must be a BCM GPIO number"),
        ({"audio": {"device": "-y"}}, "audio.device: must be an ALSA device name"),
        ({"stream": {"server": "http://x/live"}}, "stream.server: the server URL must start"),
        ({"broadcast": {"title": "x" * 33}}, "broadcast.title: must be at most 32 characters"),
    ],
    ids=["range", "one-of", "relative-path", "hostname", "pin", "dash-device", "server",
         "title"],
)  # fmt: skip
def test_value_checks(data: dict[str, object], fragment: str) -> None:
    (problem,) = _problems(data)
    assert problem.startswith(fragment)


@pytest.mark.parametrize(
    ("width", "height", "ok"),
    [(720, 1280, True), (1080, 1920, True), (540, 960, True), (1280, 720, False),
     (720, 1200, False), (1080, 1080, False)],
    ids=["720p", "1080p", "540p", "landscape", "not-9-16", "square"],
)  # fmt: skip
def test_portrait_9_16(width: int, height: int, ok: bool) -> None:
    data = {"stream": {"width": width, "height": height}}
    if ok:
        assert from_dict(data).stream.height == height
    else:
        assert any("portrait 9:16" in p for p in _problems(data))


def test_odd_size_reported() -> None:
    problems = _problems({"stream": {"width": 721, "height": 1281}})
    assert "stream.width, stream.height: must both be even" in problems


@pytest.mark.parametrize(
    "gpio",
    [{"button": 5, "relay": 5, "led": 6}, {"led": 17}, {"relay": 22}],
    ids=["button=relay", "led=default-button", "relay=default-led"],
)
def test_duplicate_gpio_pins(gpio: dict[str, int]) -> None:
    assert _problems({"gpio": gpio}) == [
        "gpio.button, gpio.relay, gpio.led: must be three different pins"
    ]


@pytest.mark.parametrize(
    "key", [f"{M} {M}", f"{M}|{M}", f"{M}é", M * 50], ids=["space", "pipe", "non-ascii", "long"]
)
def test_invalid_key_in_file_never_echoed(tmp_path: Path, key: str) -> None:
    text = f'[stream]\nkey = "{key}"\n'
    with pytest.raises(ConfigError) as e:
        load(_write(tmp_path, text))
    assert len(e.value.problems) == 1
    assert e.value.problems[0].startswith("stream.key: ")
    assert M[:8] not in str(e.value)
    (issue,) = e.value.issues
    assert isinstance(issue.message, Message) and issue.message.id.startswith("stream_key.")
    assert all(M[:8] not in v for v in issue.message.params.values())


@pytest.mark.parametrize(
    "text",
    ["[stream\n", f"[stream]\nkey = {M}\n", f'[stream]\nkey = "{M}\n', 'a = "1"\na = "2"\n'],
    ids=["bad-table", "unquoted-key", "unterminated-string", "duplicate"],
)
def test_invalid_toml(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load(path)
    (problem,) = e.value.problems
    assert problem.startswith("not valid TOML: ")
    assert "line" in problem
    assert str(path) in str(e.value)
    assert M[:8] not in str(e.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as e:
        load(path)
    assert e.value.problems == ["file not found"]
    assert str(path) in str(e.value)


def test_describe_lists_every_key() -> None:
    text = describe()
    for section in dataclasses.fields(Config):
        assert f"[{section.name}]" in text
        for f in dataclasses.fields(section.default_factory):  # type: ignore[arg-type]
            assert f"\n{f.name} = " in text, f"{section.name}.{f.name}"
            assert f"# {f.metadata['doc']}" in text


def test_describe_is_loadable_and_gives_defaults(tmp_path: Path) -> None:
    # The documented file is a valid config: copying it verbatim must not break anything.
    assert load(_write(tmp_path, describe())) == Config()


@pytest.mark.parametrize(
    ("title", "length"),
    [
        ("Friday sale", 11),
        ("", 0),
        ("👍", 1),
        ("👍🏽", 1),  # skin tone modifier
        ("❤️", 1),  # variation selector
        ("👨‍👩‍👧", 1),  # family joined with ZWJ
        ("👩🏽‍💻", 1),  # skin tone and ZWJ
        ("e\u0301", 1),  # combining accent
        ("é", 1),  # precomposed
        ("sale 🎉🎉", 7),
        ("🇯🇵", 1),  # a flag: two regional indicators (tests/title_graphemes.json has more)
    ],
    ids=["ascii", "empty", "emoji", "skin-tone", "variation-selector", "zwj-family",
         "skin-tone-zwj", "combining", "precomposed", "mixed", "flag"],
)  # fmt: skip
def test_title_length(title: str, length: int) -> None:
    assert title_length(title) == length


def test_title_limit_counts_emoji_as_one() -> None:
    # 31 letters and a family emoji (5 code points) are 32 as a person counts them.
    title = "x" * 31 + "👨‍👩‍👧"
    assert from_dict({"broadcast": {"title": title}}).broadcast.title == title


def test_config_error_lists_problems_one_per_line() -> None:
    e = ConfigError("kit.toml", ["a: one", "b: two"])
    assert str(e) == "kit.toml: 2 problem(s)\n  a: one\n  b: two"
    assert [p.message for p in e.issues] == ["a: one", "b: two"]  # no id: plain English


@pytest.mark.parametrize(
    ("data", "field", "id", "params"),
    [
        ({"stream": {"fps": 100}}, "stream.fps", "value.range",
         {"lo": "15", "hi": "60", "got": "100"}),
        ({"stream": {"width": 1280, "height": 720}}, "stream.width", "video.portrait",
         {"width": "1280", "height": "720"}),
        ({"gpio": {"led": 17}}, "gpio.button", "gpio.distinct", {}),
        ({"stream": {"birate_kbps": 1}}, "stream.birate_kbps", "config.unknown_key_suggest",
         {"suggestion": "'bitrate_kbps'"}),
        ({"web": "8080"}, "", "config.not_table", {"section": "web"}),
        ({"broadcast": {"title": "x" * 40}}, "broadcast.title", "title.too_long",
         {"max": "32", "n": "40"}),
    ],
    ids=["range", "cross-field", "three-fields", "suggestion", "section", "title"],
)  # fmt: skip
def test_problems_carry_the_field_an_id_and_values(
    data: dict[str, object], field: str, id: str, params: dict[str, str]
) -> None:
    with pytest.raises(ConfigError) as e:
        from_dict(data)
    (issue,) = e.value.issues
    assert isinstance(issue, Problem) and issue.field == field
    assert isinstance(issue.message, Message)
    assert (issue.message.id, issue.message.params) == (id, params)


def test_x264_presets_all_accepted() -> None:
    for preset in config.X264_PRESETS:
        assert from_dict({"stream": {"x264_preset": preset}}).stream.x264_preset == preset
