"""The one config schema: typed, documented per field, validated, secrets masked.

A config file is TOML. Every section is a frozen dataclass below; each field's
``doc`` is its documentation (``kit config-doc`` prints them). Loading collects
every problem at once and suggests the nearest known key for a misspelt one,
so a creator fixes the file in one go instead of one error per restart.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit import destination
from kit.messages import Message, define
from kit.secret import Secret

Check = Callable[[Any], Message | str | None]

# What a refused value is told; ids for the page's catalogue (kit.messages).
RANGE = define("value.range", "must be between {lo} and {hi} (got {got})")
ONE_OF = define("value.one_of", "must be one of {choices} (got {got})")
ABSOLUTE = define("path.absolute", "must be an absolute path (got {got})")
PERCENT = define("path.percent", "must not contain '%' (got {got})")
BCM_PIN = define("gpio.pin", "must be a BCM GPIO number from {lo} to {hi} (got {got})")
ALSA_DEVICE = define(
    "audio.device", "must be an ALSA device name such as hw:CARD=Device,DEV=0 (got {got})"
)
HOST = define("web.host", "must be an IP address such as 0.0.0.0 or 127.0.0.1 (got {got})")
UPLOAD_URL = define(
    "url.upload", 'must be "off", empty or an http:// or https:// address (got {got})'
)
TITLE_TOO_LONG = define("title.too_long", "must be at most {max} characters (has {n})")
TYPE_STRING = define("type.string", "must be a string")
TYPE_PATH = define("type.path", "must be a path as a string")
TYPES = {
    "int": define("type.int", "must be an int (got {got})"),
    "str": define("type.str", "must be a str (got {got})"),
    "bool": define("type.bool", "must be a bool (got {got})"),
    "float": define("type.float", "must be a float (got {got})"),
}
NOT_TABLE = define("config.not_table", "[{section}] must be a table")
UNKNOWN_SECTION = define("config.unknown_section", "unknown section")
UNKNOWN_SECTION_SUGGEST = define(
    "config.unknown_section_suggest", "unknown section (did you mean {suggestion}?)"
)
UNKNOWN_KEY = define("config.unknown_key", "unknown key")
UNKNOWN_KEY_SUGGEST = define(
    "config.unknown_key_suggest", "unknown key (did you mean {suggestion}?)"
)
EVEN = define("video.even", "must both be even")
PORTRAIT = define(
    "video.portrait", "must be portrait 9:16, such as 720x1280 or 1080x1920 (got {width}x{height})"
)
DISTINCT_PINS = define("gpio.distinct", "must be three different pins")
MAX_TITLE = 32


def _field(default: Any, doc: str, check: Check | None = None) -> Any:
    return field(default=default, metadata={"doc": doc, "check": check})


def _range(lo: float, hi: float) -> Check:
    return lambda v: None if lo <= v <= hi else RANGE(lo=lo, hi=hi, got=v)


def _one_of(*choices: str) -> Check:
    def check(v: str) -> Message | None:
        return None if v in choices else ONE_OF(choices=", ".join(choices), got=repr(v))

    return check


def _absolute(v: Path) -> Message | None:
    if not v.is_absolute():
        return ABSOLUTE(got=repr(str(v)))
    if "%" in str(v):
        # ffmpeg's segment muxer reads '%' in the recording path as a format.
        return PERCENT(got=repr(str(v)))
    return None


def _server(v: str) -> Message | str | None:
    if not v:
        return None  # allowed in the file: the pre-flight check asks for it
    try:
        destination.parse_server(v)
    except destination.DestinationError as e:
        return e.message
    return None


def _key(v: Secret) -> Message | str | None:
    if not v:
        return None
    try:
        destination.check_key(v.reveal())
    except destination.DestinationError as e:
        return e.message  # never echoes the key
    return None


def _bcm_pin(v: int) -> Message | None:
    return None if 2 <= v <= 27 else BCM_PIN(lo=2, hi=27, got=v)


_ALSA_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?::[A-Za-z0-9_=,.-]+)?$")


def _alsa_device(v: str) -> Message | None:
    if v == "" or _ALSA_NAME.match(v):
        return None
    return ALSA_DEVICE(got=repr(v))


def _host(v: str) -> Message | None:
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return HOST(got=repr(v))
    return None


X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


@dataclass(frozen=True)
class StreamConfig:
    server: str = _field(
        "",
        "RTMP or RTMPS server URL, e.g. rtmps://push-rtmp-l11-sg01.tiktokcdn.com:443/game/",
        _server,
    )
    key: Secret = _field(
        Secret(""),
        "Stream key, sent byte for byte (query parameters included). Shown as ••••abcd.",
        _key,
    )
    width: int = _field(
        720, "Video width in pixels (portrait: width:height = 9:16).", _range(360, 2160)
    )
    height: int = _field(1280, "Video height in pixels.", _range(640, 3840))
    fps: int = _field(30, "Frames per second.", _range(15, 60))
    bitrate_kbps: int = _field(
        2500, "Video bitrate in kb/s (TikTok takes 2000 to 6000).", _range(500, 12000)
    )
    audio_bitrate_kbps: int = _field(128, "AAC-LC audio bitrate in kb/s.", _range(64, 320))
    keyframe_seconds: int = _field(2, "Seconds between keyframes.", _range(1, 4))
    encoder: str = _field(
        "auto",
        "H.264 encoder: auto (hardware where ffmpeg has a working one), h264_v4l2m2m, libx264.",
        _one_of("auto", "h264_v4l2m2m", "libx264"),
    )
    x264_preset: str = _field(
        "auto",
        "libx264 speed preset; auto: fast enough to hold the frame rate on this machine "
        "(a Pi 5, which has no H.264 hardware, gets a faster preset).",
        _one_of("auto", *X264_PRESETS),
    )
    tls_verify: bool = _field(True, "For rtmps://, check the server's certificate.")
    ca_file: Path = _field(
        Path("/etc/ssl/certs/ca-certificates.crt"),
        "CA bundle the server's certificate is checked against.",
        _absolute,
    )


@dataclass(frozen=True)
class CameraConfig:
    mount: str = _field(
        "upright",
        "How the camera is mounted: upright (a 9:16 crop of the sensor), or turned on its "
        "side with its top to the left or right (the whole picture, turned into portrait).",
        _one_of("upright", "left", "right"),
    )
    hflip: bool = _field(False, "Mirror the picture left to right.")
    vflip: bool = _field(False, "Flip the picture upside down.")
    source: str = _field(
        "auto",
        "Where the picture comes from: auto (the camera through picamera2 on a Raspberry Pi, "
        "the test pattern with --simulate), picamera2 (the camera, even with --simulate: "
        "the pins and the microphone stay simulated), test-pattern.",
        _one_of("auto", "picamera2", "test-pattern"),
    )
    python: str = _field(
        "",
        "The command that runs the Python with picamera2 for the camera's process, as "
        "words separated by spaces; empty: the kit's own Python (on a Pi it sees the "
        "system's picamera2). The tests point it at the camera rig.",
        lambda v: None if all(w.startswith("/") for w in v.split()[:1]) else ABSOLUTE(got=repr(v)),
    )


@dataclass(frozen=True)
class SimulationConfig:
    camera_rate_error_percent: float = _field(
        0.0,
        "With --simulate, the test camera runs this much slow (+) or fast (-).",
        _range(-10.0, 10.0),
    )
    camera_drop_percent: float = _field(
        0.0, "With --simulate, the test camera drops this share of its frames.", _range(0.0, 50.0)
    )
    sync_pattern: bool = _field(
        False,
        "A white flash and a 1 kHz beep together once a second on the wall clock "
        "(python -m kit.avsync measures what arrives).",
    )


@dataclass(frozen=True)
class AudioConfig:
    device: str = _field(
        "",
        "ALSA capture device by stable name (hw:CARD=<id>,DEV=0); empty: the first USB mic.",
        _alsa_device,
    )


@dataclass(frozen=True)
class RecordingConfig:
    dir: Path = _field(Path("/var/lib/kit/recordings"), "Folder for recordings.", _absolute)
    segment_seconds: int = _field(60, "Length of each recording segment.", _range(10, 600))
    min_free_mb: int = _field(
        500,
        "Free space to keep for recording: the oldest recordings make room (see retention); "
        "the kit refuses to go live with less.",
        _range(50, 100000),
    )
    retention: bool = _field(
        True,
        "Before and during a broadcast, remove the oldest finished recordings to keep "
        "min_free_mb free; never the current one or one marked keep on the page.",
    )


@dataclass(frozen=True)
class StateConfig:
    dir: Path = _field(Path("/var/lib/kit"), "Folder for settings, history and tokens.", _absolute)


@dataclass(frozen=True)
class WebConfig:
    host: str = _field("0.0.0.0", "Address the page and API listen on.", _host)
    port: int = _field(8080, "Port of the page and API.", _range(1, 65535))


@dataclass(frozen=True)
class GpioConfig:
    button: int = _field(17, "BCM pin of the go-live button (to ground).", _bcm_pin)
    relay: int = _field(27, "BCM pin of the ring-light relay.", _bcm_pin)
    led: int = _field(22, "BCM pin of the status LED.", _bcm_pin)
    relay_active_high: bool = _field(True, "True if the relay switches on with a high pin.")


LIGHT_MODES = ("broadcast", "always", "manual")


@dataclass(frozen=True)
class LightConfig:
    mode: str = _field(
        "broadcast",
        "When the ring light is on: broadcast (during the countdown and the broadcast), "
        "always (while the kit runs), manual (the switch on the page).",
        _one_of(*LIGHT_MODES),
    )


# Where the pre-flight measures the upload speed by default: Cloudflare's speed test, the
# endpoint its own speed.cloudflare.com page and @cloudflare/speedtest POST to. It reads the
# body and answers; the kit sends random bytes, no key, no identifier (kit.net.checks).
DEFAULT_UPLOAD_TEST_URL = "https://speed.cloudflare.com/__up"
UPLOAD_TEST_OFF = ("", "off")


def _upload_url(v: str) -> Message | None:
    if v in UPLOAD_TEST_OFF or re.fullmatch(r"https?://[A-Za-z0-9.\[\]:-]+(?:/[\x21-\x7e]*)?", v):
        return None
    return UPLOAD_URL(got=repr(v))


@dataclass(frozen=True)
class NetworkConfig:
    upload_test_url: str = _field(
        DEFAULT_UPLOAD_TEST_URL,
        "HTTP(S) address that accepts a POST, used to measure the upload speed before going "
        'live (about 2 s, at most 2 MB of random bytes); "off" or empty: not measured.',
        _upload_url,
    )


@dataclass(frozen=True)
class BroadcastConfig:
    title: str = _field(
        "",
        f"Broadcast title (at most {MAX_TITLE} characters); names the recordings.",
        lambda v: check_title_length(v),
    )


@dataclass(frozen=True)
class Config:
    stream: StreamConfig = field(default_factory=StreamConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    state: StateConfig = field(default_factory=StateConfig)
    web: WebConfig = field(default_factory=WebConfig)
    gpio: GpioConfig = field(default_factory=GpioConfig)
    light: LightConfig = field(default_factory=LightConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    broadcast: BroadcastConfig = field(default_factory=BroadcastConfig)
    simulation: SimulationConfig = field(default_factory=SimulationConfig)


@dataclass(frozen=True)
class Problem:
    """One problem: where it is ("stream.fps", "stream.width, stream.height", "[strem]";
    "" for the whole file) and what is wrong (a Message, or plain English)."""

    where: str
    message: Message | str

    @property
    def field(self) -> str:
        """The one field the problem is shown next to: the first one it names."""
        return self.where.split(",")[0].strip()

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else str(self.message)


class ConfigError(ValueError):
    """Every problem found in a config, one per line.

    ``problems`` is the English lines; ``issues`` the same problems as :class:`Problem`.
    """

    def __init__(self, source: str, problems: list[Problem] | list[str]) -> None:
        self.issues = [p if isinstance(p, Problem) else Problem("", p) for p in problems]
        self.problems = [str(p) for p in self.issues]
        super().__init__(f"{source}: {len(problems)} problem(s)\n  " + "\n  ".join(self.problems))


def check_title_length(title: str) -> Message | None:
    n = title_length(title)
    return None if n <= MAX_TITLE else TITLE_TOO_LONG(max=MAX_TITLE, n=n)


def title_length(title: str) -> int:
    """Characters as TikTok (and the page, web/static/kit.js) counts them: extended
    grapheme clusters (Unicode's UAX #29), so that a flag, a keycap, an emoji with its
    skin tone or a ZWJ sequence such as a family is one."""
    import regex

    return len(regex.findall(r"\X", title))


def _unknown(name: str, known: list[str], plain: Any, suggest: Any) -> Message:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return suggest(suggestion=repr(close[0])) if close else plain()


def _convert(section: str, f: dataclasses.Field[Any], raw: Any, problems: list[Problem]) -> Any:
    name = f"{section}.{f.name}"
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    if kind == "Secret":
        if not isinstance(raw, str):
            problems.append(Problem(name, TYPE_STRING()))  # never the value: it is the key
            return None
        return Secret(raw)
    if kind == "Path":
        if not isinstance(raw, str) or not raw:
            problems.append(Problem(name, TYPE_PATH()))
            return None
        return Path(raw)
    expected = {"int": int, "str": str, "bool": bool, "float": (int, float)}[kind]
    # bool is an int in Python; a TOML true is never a valid port number.
    if (isinstance(raw, bool) and kind != "bool") or not isinstance(raw, expected):
        problems.append(Problem(name, TYPES[kind](got=repr(raw))))
        return None
    return raw


def _build_section(section: str, cls: type, data: Any, problems: list[Problem]) -> Any:
    if not isinstance(data, dict):
        problems.append(Problem("", NOT_TABLE(section=section)))
        return cls()
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        f = fields.get(key)
        if f is None:
            message = _unknown(key, list(fields), UNKNOWN_KEY, UNKNOWN_KEY_SUGGEST)
            problems.append(Problem(f"{section}.{key}", message))
            continue
        value = _convert(section, f, raw, problems)
        if value is None:
            continue
        check = f.metadata.get("check")
        refused = check(value) if check else None
        if refused:
            problems.append(Problem(f"{section}.{key}", refused))
            continue
        values[key] = value
    return cls(**values)


def from_dict(data: dict[str, Any], source: str = "config") -> Config:
    problems: list[Problem] = []
    sections = {f.name: f for f in dataclasses.fields(Config)}
    built: dict[str, Any] = {}
    for name, raw in data.items():
        f = sections.get(name)
        if f is None:
            message = _unknown(name, list(sections), UNKNOWN_SECTION, UNKNOWN_SECTION_SUGGEST)
            problems.append(Problem(f"[{name}]", message))
            continue
        built[name] = _build_section(name, f.default_factory, raw, problems)  # type: ignore[arg-type]
    cfg = Config(**built)
    problems += _cross_checks(cfg)
    if problems:
        raise ConfigError(source, problems)
    return cfg


def _cross_checks(cfg: Config) -> list[Problem]:
    problems = []
    s = cfg.stream
    if s.width % 2 or s.height % 2:
        problems.append(Problem("stream.width, stream.height", EVEN()))
    if s.width * 16 != s.height * 9:
        problems.append(
            Problem("stream.width, stream.height", PORTRAIT(width=s.width, height=s.height))
        )
    pins = [cfg.gpio.button, cfg.gpio.relay, cfg.gpio.led]
    if len(set(pins)) != len(pins):
        problems.append(Problem("gpio.button, gpio.relay, gpio.led", DISTINCT_PINS()))
    return problems


def load(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except OSError as e:
        raise ConfigError(str(path), [f"cannot read: {e.strerror}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # The decoder's message names a line and column, never the value.
        raise ConfigError(str(path), [f"not valid TOML: {e}"]) from None
    return from_dict(data, str(path))


def describe() -> str:
    """Every key with its default and documentation, as a commented TOML file."""
    lines = []
    for section in dataclasses.fields(Config):
        lines.append(f"[{section.name}]")
        for f in dataclasses.fields(section.default_factory):  # type: ignore[arg-type]
            default = f.default
            shown = '""' if isinstance(default, Secret) else _toml_value(default)
            lines.append(f"# {f.metadata['doc']}")
            lines.append(f"{f.name} = {shown}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
