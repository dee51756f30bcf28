"""kit.destination: server URLs and stream keys, checked before ffmpeg sees them."""

from __future__ import annotations

import pytest

from kit.destination import MAX_KEY_LENGTH, DestinationError, check_key, parse, parse_server
from kit.messages import Message

VALID_SERVERS = [
    ("rtmps://push-rtmp-l11-sg01.tiktokcdn.com:443/game/",
     ("rtmps", "push-rtmp-l11-sg01.tiktokcdn.com", 443, "game")),
    ("rtmp://a.rtmp.youtube.com/live2", ("rtmp", "a.rtmp.youtube.com", 1935, "live2")),
    ("rtmp://live.twitch.tv/app/", ("rtmp", "live.twitch.tv", 1935, "app")),
    ("rtmps://live-api-s.facebook.com:443/rtmp/",
     ("rtmps", "live-api-s.facebook.com", 443, "rtmp")),
    ("rtmp://[::1]:19350/live", ("rtmp", "[::1]", 19350, "live")),
    ("rtmps://[2001:db8::1]/live", ("rtmps", "[2001:db8::1]", 443, "live")),
    ("rtmp://127.0.0.1:19350/game", ("rtmp", "127.0.0.1", 19350, "game")),
    ("rtmp://ingest.example/live", ("rtmp", "ingest.example", 1935, "live")),
    ("rtmps://ingest.example/live", ("rtmps", "ingest.example", 443, "live")),
    ("RTMPS://Ingest.Example/Live", ("rtmps", "Ingest.Example", 443, "Live")),
    ("rtmp://h.example:65535/a/b.c/~d_e-f/", ("rtmp", "h.example", 65535, "a/b.c/~d_e-f")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("url", "expected"), VALID_SERVERS, ids=["tiktok", "youtube", "twitch", "facebook",
    "ipv6-port", "ipv6-default-port", "ipv4", "default-1935", "default-443", "upper-case",
    "nested-app"]
)  # fmt: skip
def test_valid_server(url: str, expected: tuple[str, str, int, str]) -> None:
    assert parse_server(url) == expected


INVALID_SERVERS = [
    ("", "not set"),
    ("http://ingest.example/live", "must start with rtmp:// or rtmps://"),
    ("srt://ingest.example/live", "must start with rtmp:// or rtmps://"),
    ("ingest.example/live", "must start with rtmp:// or rtmps://"),
    ("rtmp:///live", "no valid host name"),
    ("rtmp://-bad-.example/live", "no valid host name"),
    ("rtmp://ingest.example", "application path"),
    ("rtmp://ingest.example/", "application path"),
    ("rtmp://ingest.example/live?token=1", "'?' part"),
    ("rtmp://ingest.example/live#x", "'?' part"),
    ("rtmp://user:pass@ingest.example/live", "user name or password"),
    ("rtmp://ingest.example:0/live", "invalid port"),
    ("rtmp://ingest.example:65536/live", "invalid port"),
    ("rtmp://ingest.example:http/live", "invalid port"),
    ("rtmp://ingest.example:/live", "invalid port"),
    ("rtmp://ingest.example/li%20ve", "path may contain only"),
    ("rtmp://ingest.example /live", "spaces"),
    ("rtmp://ingest.example/li\nve", "not allowed"),
    ("rtmp://ingest.example/li\x00ve", "not allowed"),
    ("rtmp://ingest.example/li\x7fve", "not allowed"),
    ("rtmp://ingést.example/live", "not allowed"),
    ("rtmp://ingest.example/" + "a" * 600, "longer than 512"),
]


@pytest.mark.parametrize(
    ("url", "fragment"),
    INVALID_SERVERS,
    ids=["empty", "http", "srt", "no-scheme", "no-host", "bad-host", "no-app", "slash-only",
         "query", "fragment", "userinfo", "port-0", "port-too-big", "port-name", "port-empty",
         "percent-in-path", "space", "newline", "nul", "del", "non-ascii", "too-long"],
)  # fmt: skip
def test_invalid_server(url: str, fragment: str) -> None:
    with pytest.raises(DestinationError) as e:
        parse_server(url)
    assert fragment in str(e.value)
    # The same sentence with an id and values, for the page's catalogue.
    assert isinstance(e.value.message, Message) and e.value.message.id.startswith("server.")
    assert str(e.value.message) == str(e.value)


VALID_KEYS = [
    "stream-7311111111111111111?expire=1790000000&sign=0123abcd",
    "live_123/abc",
    "a:b:c",
    "abc+def==",
    "-starts-with-dash",
    "x",
    "k" * MAX_KEY_LENGTH,
]


@pytest.mark.parametrize(
    "key", VALID_KEYS, ids=["tiktok", "slash", "colon", "plus-equals", "dash", "one-char", "max"]
)
def test_valid_key(key: str) -> None:
    check_key(key)  # must not raise
    assert parse("rtmp://h.example/live", key).key.reveal() == key


# A marker long enough that finding it in a message can only mean the key leaked.
M = "ZQXSECRETMARKER0123456789"
INVALID_KEYS = [
    ("", "not set"),
    (f"{M} {M}", "space or line break"),
    (f"{M}\n", "space or line break"),
    (f"{M}\t{M}", "space or line break"),
    (f"{M}\u00a0{M}", "space or line break"),
    (f"{M}\x00{M}", "control character"),
    (f"{M}\x1b{M}", "control character"),
    (f"{M}\x7f{M}", "control character"),
    (f"{M}é{M}", "plain ASCII"),
    (f"{M}\u200b{M}", "plain ASCII"),
    (f"{M}|{M}", "'|'"),
    (f"{M}[{M}", "'['"),
    (f"{M}]{M}", "']'"),
    (f"{M}\\{M}", "'\\\\'"),
    (f"{M}'{M}", '"\'"'),
    (f'{M}"{M}', "'\"'"),
    (M * 50, f"longer than {MAX_KEY_LENGTH}"),
]


@pytest.mark.parametrize(
    ("key", "fragment"),
    INVALID_KEYS,
    ids=["empty", "space", "newline", "tab", "nbsp", "nul", "esc", "del", "non-ascii",
         "zero-width-space", "pipe", "open-bracket", "close-bracket", "backslash",
         "quote", "double-quote", "too-long"],
)  # fmt: skip
def test_invalid_key(key: str, fragment: str) -> None:
    with pytest.raises(DestinationError) as e:
        check_key(key)
    message = str(e.value)
    assert fragment in message
    assert M not in message
    assert M[:8] not in message
    m = e.value.message
    assert isinstance(m, Message) and m.id.startswith("stream_key.") and str(m) == message
    # What the page fills into a translation never holds the key either.
    assert all(M[:8] not in v for v in m.params.values())


@pytest.mark.parametrize(("key", "fragment"), INVALID_KEYS[1:4], ids=["space", "nl", "tab"])
def test_parse_never_echoes_an_invalid_key(key: str, fragment: str) -> None:
    with pytest.raises(DestinationError) as e:
        parse("rtmp://h.example/live", key)
    assert fragment in str(e.value)
    assert M not in str(e.value)
    assert M not in repr(e.value)


def test_destination_shows_server_but_never_key() -> None:
    key = f"live_{M}_abcd"
    d = parse("RTMPS://Push.Example:443/game/", key)
    assert d.server_url == "rtmps://Push.Example:443/game"
    assert d.secure
    assert not parse("rtmp://h.example/live", key).secure
    assert M not in repr(d)
    assert M not in str(d)
    assert d.key.reveal() == key
