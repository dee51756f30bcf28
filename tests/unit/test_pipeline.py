"""kit.media.pipeline: the exact argv, and the key surviving ffmpeg's three parsing levels."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.destination import Destination, parse
from kit.media import pipeline as p
from kit.secret import Secret, redact

TIKTOK = "rtmps://push-rtmp-l11-sg01.tiktokcdn.com:443/game/"
KEY = "stream-7311?expire=1790000000&sign=0123abcd"
RECORD_OPTS = (
    "[f=segment:segment_time=60:segment_start_number=1:segment_format=mp4"
    ":segment_format_options=movflags=+frag_keyframe+empty_moov+default_base_moof"
    ":reset_timestamps=1:onfail=ignore]"
)


def _spec(
    video: p.VideoFeed,
    audio: p.AudioFeed,
    encoder: str,
    dest: Destination | None = None,
    pattern: str = "/r/part-%04d.mp4",
    ca_file: Path | None = None,
    bitrate: int = 2500,
) -> p.Spec:
    return p.Spec(
        video=video,
        audio=audio,
        encode=p.Encode(encoder, 720, 1280, 30, bitrate),  # type: ignore[arg-type]
        outputs=p.Outputs(Path(pattern), 60, 1, dest, ca_file),
    )


T0 = 1796000000.25
H264 = p.VideoFeed(3, 720, 1280, 30.0, T0)
TONE = p.AudioFeed("tone")
MIC = p.AudioFeed("alsa", "hw:CARD=Mic,DEV=0")
# The NUT seam from the camera source: no probing, moved back by t0 to time 0.
NUT_IN = [
    "-f",
    "nut",
    "-analyzeduration",
    "0",
    "-itsoffset",
    "-1796000000.250000",
    "-probesize",
    "32",
    "-thread_queue_size",
    "64",
]
TAIL = [
    "-hide_banner",
    "-nostdin",
    "-nostats",
    "-loglevel",
    "level+verbose",
    "-progress",
    "pipe:1",
    "-stats_period",
    "1",
    "-copyts",
    "-copytb",
    "1",
]
AAC = ["-ac", "2", "-ar", "48000", "-b:a", "128k"]

ARGV_CASES = [
    pytest.param(
        _spec(H264, TONE, "libx264", parse(TIKTOK, KEY), "/var/lib/kit/recordings/s/part-%04d.mp4"),
        [
            "ffmpeg",
            *NUT_IN, "-i", "pipe:3",
            "-f", "lavfi", "-re", "-i", "sine=frequency=440:sample_rate=48000",
            "-map", "0:v", "-map", "1:a",
            "-f", "tee", *AAC, "-c:a", "aac", "-c:v", "copy",
            "-flags:a", "+global_header", "-profile:a", "aac_low", "-tag:v", "7",
            RECORD_OPTS + "/var/lib/kit/recordings/s/part-%04d.mp4"
            "|[f=fifo:fifo_format=flv"
            r":format_opts=rtmp_app=game\\:rtmp_playpath=stream-7311?expire=1790000000&sign=0123abcd"
            r"\\:flvflags=no_duration_filesize"
            ":queue_size=400:drop_pkts_on_overflow=1:attempt_recovery=1:recover_any_error=1"
            ":recovery_wait_time=1:restart_with_keyframe=1:onfail=ignore]"
            "rtmps://push-rtmp-l11-sg01.tiktokcdn.com:443/game",
            *TAIL,
        ],
        id="copy-tone-rtmps",
    ),
    pytest.param(
        _spec(H264, MIC, "libx264"),
        [
            "ffmpeg",
            *NUT_IN, "-i", "pipe:3",
            # The microphone is stamped with the wall clock: moved back by the same t0.
            "-f", "alsa", "-itsoffset", "-1796000000.250000", "-thread_queue_size", "1024",
            "-i", "hw:CARD=Mic,DEV=0",
            "-map", "0:v", "-map", "1:a",
            "-f", "tee", *AAC, "-c:a", "aac", "-c:v", "copy",
            "-flags:a", "+global_header", "-profile:a", "aac_low", "-tag:v", "7",
            RECORD_OPTS + "/r/part-%04d.mp4",
            *TAIL,
        ],
        id="copy-alsa",
    ),
    pytest.param(
        _spec(p.VideoFeed(4, 1280, 720, 30.0, T0, rotate=90), MIC, "h264_v4l2m2m", bitrate=3000),
        [
            "ffmpeg",
            *NUT_IN, "-i", "pipe:4",
            "-f", "alsa", "-itsoffset", "-1796000000.250000", "-thread_queue_size", "1024",
            "-i", "hw:CARD=Mic,DEV=0",
            "-filter_complex", "[0:v]transpose=1[s0]", "-map", "[s0]", "-map", "1:a",
            "-f", "tee", *AAC, "-b:v", "3000k",
            "-c:a", "aac", "-c:v", "h264_v4l2m2m", "-flags:a", "+global_header",
            "-flags:v", "+global_header", "-fps_mode", "cfr", "-g", "60", "-pix_fmt", "yuv420p",
            "-profile:a", "aac_low", "-r", "30",
            RECORD_OPTS + "/r/part-%04d.mp4",
            *TAIL,
        ],
        id="sideways-turned-v4l2m2m-no-x264-options",
    ),
    pytest.param(
        _spec(p.VideoFeed(3, 1280, 720, 30.0, T0, rotate=270), TONE, "libx264"),
        [
            "ffmpeg",
            *NUT_IN, "-i", "pipe:3",
            "-f", "lavfi", "-re", "-i", "sine=frequency=440:sample_rate=48000",
            "-filter_complex", "[0:v]transpose=2[s0]", "-map", "[s0]", "-map", "1:a",
            "-f", "tee", *AAC, "-b:v", "2500k",
            "-bf", "0", "-bufsize:v", "5000k", "-c:a", "aac", "-c:v", "libx264",
            "-flags:a", "+global_header", "-flags:v", "+global_header", "-fps_mode", "cfr",
            "-g", "60", "-keyint_min", "60", "-maxrate:v", "2500k", "-pix_fmt", "yuv420p",
            "-preset:v", "veryfast", "-profile:a", "aac_low", "-profile:v", "high",
            "-r", "30", "-rc-lookahead", "0", "-sc_threshold", "0",
            RECORD_OPTS + "/r/part-%04d.mp4",
            *TAIL,
        ],
        id="sideways-turned-libx264",
    ),
    pytest.param(
        _spec(H264, p.AudioFeed("sync"), "libx264"),
        [
            "ffmpeg",
            *NUT_IN, "-i", "pipe:3",
            "-f", "lavfi", "-re", "-i",
            # t0 is .25 past a second: the beep is at t = .75, 1.75, ...
            r"aevalsrc=exprs=if(lt(mod(t+0.250000\,1)\,0.1)\,0.5*sin(2*PI*1000*t)\,0)"
            ":sample_rate=48000",
            "-map", "0:v", "-map", "1:a",
            "-f", "tee", *AAC, "-c:a", "aac", "-c:v", "copy",
            "-flags:a", "+global_header", "-profile:a", "aac_low", "-tag:v", "7",
            RECORD_OPTS + "/r/part-%04d.mp4",
            *TAIL,
        ],
        id="sync-beep",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "expected"), ARGV_CASES)
def test_build_argv(spec: p.Spec, expected: list[str]) -> None:
    assert p.build(spec) == expected


def test_ffmpeg_binary_is_first() -> None:
    argv = p.build(_spec(H264, TONE, "libx264"), ffmpeg_bin="/opt/ff/bin/ffmpeg")
    assert argv[0] == "/opt/ff/bin/ffmpeg"


@pytest.mark.parametrize(
    ("value", "specials", "expected"),
    [
        ("a:b", ":", r"a\:b"),
        ("a:b", "|", "a:b"),  # ':' is only special where the level says so
        ("a]b", ":]", r"a\]b"),
        ("a|b", "|", r"a\|b"),
        ("a\\b", "", r"a\\b"),  # backslash: always, it is the escape itself
        ("a'b", "", r"a\'b"),  # single quote: always, av_get_token quotes with it
        ('a"b', "", 'a"b'),  # double quote: not special to av_get_token
        ("a b", "", r"a\ b"),  # whitespace: av_get_token would strip it at the ends
        ("a\tb", "", "a\\\tb"),
        ("plain-text_1.0", ":]|", "plain-text_1.0"),
    ],
    ids=["colon", "colon-not-special", "bracket", "pipe", "backslash", "quote", "dquote",
         "space", "tab", "plain"],
)  # fmt: skip
def test_escape(value: str, specials: str, expected: str) -> None:
    assert p.escape(value, specials) == expected


# -- an independent reading of the argv, the way ffmpeg 5.1 reads it ---------

_WHITESPACE = " \n\t\r"


def av_get_token(buf: str, term: str) -> tuple[str, str]:
    """libavutil/avstring.c av_get_token: returns (token, rest starting at the delimiter)."""
    i = 0
    while i < len(buf) and buf[i] in _WHITESPACE:
        i += 1
    out: list[str] = []
    end = 0  # characters up to here were escaped or quoted: never stripped
    while i < len(buf) and buf[i] not in term:
        c = buf[i]
        i += 1
        if c == "\\" and i < len(buf):
            out.append(buf[i])
            i += 1
            end = len(out)
        elif c == "'":
            while i < len(buf) and buf[i] != "'":
                out.append(buf[i])
                i += 1
            if i < len(buf):
                i += 1
                end = len(out)
        else:
            out.append(c)
    while len(out) > end and out[-1] in _WHITESPACE:
        out.pop()
    return "".join(out), buf[i:]


def _is_key_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "-_/.")


def _get_key(buf: str) -> tuple[str, str]:
    """libavutil/opt.c get_key with '=' as the separator."""
    buf = buf.lstrip(_WHITESPACE)
    n = 0
    while n < len(buf) and _is_key_char(buf[n]):
        n += 1
    key, rest = buf[:n], buf[n:].lstrip(_WHITESPACE)
    assert rest.startswith("="), f"no '=' after option key near {rest[:20]!r}"
    return key, rest[1:]


def tee_slaves(target: str) -> list[str]:
    """Level 0 (tee.c): the target split into slaves with av_get_token('|')."""
    slaves = []
    while target:
        slave, target = av_get_token(target, "|")
        slaves.append(slave)
        target = target.removeprefix("|")
    return slaves


def slave_options(slave: str) -> tuple[dict[str, str], str]:
    """Level 1 (tee_common.c ff_tee_parse_slave_options): '[k=v:k=v]filename'."""
    assert slave.startswith("[")
    rest = slave[1:]
    opts: dict[str, str] = {}
    while True:
        key, rest = _get_key(rest)
        opts[key], rest = av_get_token(rest, ":]")
        assert rest, "unterminated slave options"
        if rest.startswith("]"):
            return opts, rest[1:]
        rest = rest[1:]


def dict_options(text: str) -> dict[str, str]:
    """Level 2 (av_dict_parse_string(.., '=', ':')): the fifo's format_opts."""
    opts: dict[str, str] = {}
    while text:
        key, text = av_get_token(text, "=")
        assert text.startswith("="), f"no '=' after {key!r}"
        opts[key], text = av_get_token(text[1:], ":")
        text = text[1:]
    return opts


def _tee_target(argv: list[str]) -> str:
    (target,) = [a for a in argv if a.startswith("[")]
    return target


def _read_back(argv: list[str]) -> dict[str, tuple[dict[str, str], str]]:
    """{muxer: (slave options, filename)} as ffmpeg would see them."""
    parsed = [slave_options(s) for s in tee_slaves(_tee_target(argv))]
    return {opts["f"]: (opts, filename) for opts, filename in parsed}


def test_reader_agrees_with_av_get_token_rules() -> None:
    # The reader is the oracle below, so it gets its own table first.
    cases = [
        ("  a b  |x", "|", ("a b", "|x")),
        (r"a\|b|c", "|", ("a|b", "|c")),
        (r"a\ \ |", "|", ("a  ", "|")),
        ("'a:b':c", ":", ("a:b", ":c")),
        ("'a ' |", "|", ("a ", "|")),
        (r"a\\:b", ":", ("a\\", ":b")),
    ]
    for buf, term, expected in cases:
        assert av_get_token(buf, term) == expected, buf


VALID_KEYS = [
    "stream-7311111111111111111?expire=1790000000&sign=0123abcd",
    "a/b:c=d&e?f",
    "::==//??&&",
    "k:",
    ":k",
    "a+b/c=d:e-f_g.h~i",
    "-leading-dash",
]


@pytest.mark.parametrize("app", ["game", "live/sub.app"])
@pytest.mark.parametrize("key", VALID_KEYS)
def test_key_and_app_survive_three_levels(key: str, app: str) -> None:
    dest = parse(f"rtmps://push.example.com:443/{app}/", key)
    argv = p.build(_spec(H264, TONE, "libx264", dest))
    fifo_opts, url = _read_back(argv)["fifo"]
    fmt = dict_options(fifo_opts["format_opts"])
    assert fmt["rtmp_playpath"] == key
    assert fmt["rtmp_app"] == app
    assert fmt["flvflags"] == "no_duration_filesize"
    assert url == f"rtmps://push.example.com:443/{app}"
    assert fifo_opts["fifo_format"] == "flv"
    assert fifo_opts["recover_any_error"] == "1"


# check_key refuses these; the escaping must still hold them, so that one
# wrong validation rule can never turn a key into extra ffmpeg options.
HOSTILE_KEYS = ["a|b", "a]b:[c", "a\\b", "a'b", "a b", " lead", "trail ", "x\\:]|'y\\"]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_escaping_alone_holds_refused_characters(key: str) -> None:
    dest = Destination("rtmp", "h.example", 1935, "live", Secret(key))
    argv = p.build(_spec(H264, TONE, "libx264", dest))
    slaves = _read_back(argv)
    assert set(slaves) == {"segment", "fifo"}
    fmt = dict_options(slaves["fifo"][0]["format_opts"])
    assert fmt["rtmp_playpath"] == key
    assert set(fmt) == {"rtmp_app", "rtmp_playpath", "flvflags"}


@pytest.mark.parametrize(
    ("server", "verified"),
    [("rtmps://h.example/live", True), ("rtmp://h.example/live", False)],
    ids=["rtmps", "rtmp"],
)
def test_ca_file_reaches_tls_only_for_rtmps(server: str, verified: bool) -> None:
    ca = Path("/etc/my certs/ca:bundle.crt")  # a space and a ':' to escape
    argv = p.build(_spec(H264, TONE, "libx264", parse(server, KEY), ca_file=ca))
    fmt = dict_options(_read_back(argv)["fifo"][0]["format_opts"])
    expected = {"tls_verify": "1", "ca_file": str(ca)} if verified else {}
    assert {k: v for k, v in fmt.items() if k in ("tls_verify", "ca_file")} == expected
    assert fmt["rtmp_playpath"] == KEY


def test_no_push_slave_without_destination() -> None:
    argv = p.build(_spec(H264, TONE, "libx264"))
    assert list(_read_back(argv)) == ["segment"]


def test_recording_path_with_space_is_escaped() -> None:
    pattern = "/var/lib/kit/recordings/my show/part-%04d.mp4"
    argv = p.build(_spec(H264, TONE, "libx264", parse(TIKTOK, KEY), pattern))
    assert r"/recordings/my\ show/part-%04d.mp4|" in _tee_target(argv)
    opts, filename = _read_back(argv)["segment"]
    assert filename == pattern
    assert opts["segment_format_options"] == "movflags=+frag_keyframe+empty_moov+default_base_moof"


@pytest.mark.parametrize("key", [*VALID_KEYS, "SECRETa:SECRETb:SECRETc"])
def test_secret_forms_redact_every_trace(key: str) -> None:
    dest = parse(TIKTOK, key)
    text = " ".join(p.build(_spec(H264, TONE, "libx264", dest)))
    assert p.secret_forms(dest), "no forms at all would redact nothing"
    redacted = redact(text, *p.secret_forms(dest))
    assert key not in redacted
    for form in p.secret_forms(dest):
        assert form not in redacted
    # The pieces between escapes would leak even if no whole form did.
    for piece in key.split(":"):
        if len(piece) >= 5:
            assert piece not in redacted


def test_secret_forms_without_key() -> None:
    assert p.secret_forms(None) == []
    assert p.secret_forms(Destination("rtmp", "h", 1935, "live", Secret(""))) == []


def test_user_values_never_start_an_argument() -> None:
    benign = _spec(H264, TONE, "libx264", parse("rtmp://h.example/live", "k"))
    hostile = _spec(
        H264,
        TONE,
        "libx264",
        parse("rtmp://h.example/-y/-i", "-f"),
        pattern="/-rec/-y/part-%04d.mp4",
    )
    flags = [a for a in p.build(benign) if a.startswith("-")]
    hostile_argv = p.build(hostile)
    # Same options, in the same order: no user value became an option.
    assert [a for a in hostile_argv if a.startswith("-")] == flags
    assert any("-rec/-y" in a for a in hostile_argv)
