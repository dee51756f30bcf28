"""kit.net.rtmp_probe's pure part as tables (AMF0, chunks, the handshake's checks, the
connect answer), the key's expiry verdict with a fixed clock, and rtmp_connect against the
loopback peer in tests/peers/fake_rtmp.py. nginx: tests/integration/test_rtmp_probe.py."""

from __future__ import annotations

import datetime
import socket
import struct
import threading
import time

import pytest

from kit import config
from kit.checks import Context, Level
from kit.net import checks as net
from kit.net import rtmp_probe as rp
from tests.peers import fake_rtmp

# -- AMF0 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (1, b"\x00" + struct.pack(">d", 1.0)),
        (0.5, b"\x00" + struct.pack(">d", 0.5)),
        (True, b"\x01\x01"),
        (False, b"\x01\x00"),
        (None, b"\x05"),
        ("connect", b"\x02\x00\x07connect"),
        ("", b"\x02\x00\x00"),
        ("å", b"\x02\x00\x02\xc3\xa5"),
        ({"app": "game"}, b"\x03\x00\x03app\x02\x00\x04game\x00\x00\x09"),
        ({}, b"\x03\x00\x00\x09"),
        ({"a": {"b": None}}, b"\x03\x00\x01a\x03\x00\x01b\x05\x00\x00\x09\x00\x00\x09"),
    ],
)
def test_amf0_both_ways(value: object, encoded: bytes) -> None:
    assert rp.amf0_encode(value) == encoded
    decoded, end = rp.amf0_decode_one(encoded)
    assert (decoded, end) == (value, len(encoded))


@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        (b"\x06", None),  # undefined
        (b"\x08\x00\x00\x00\x01\x00\x01k\x00" + struct.pack(">d", 2.0) + b"\x00\x00\x09",
         {"k": 2.0}),  # ECMA array
        (b"\x0a\x00\x00\x00\x02\x05\x01\x01", [None, True]),  # strict array
        (b"\x0c\x00\x00\x00\x02hi", "hi"),  # long string
    ],
)  # fmt: skip
def test_amf0_decodes_what_servers_send(encoded: bytes, value: object) -> None:
    assert rp.amf0_decode_one(encoded) == (value, len(encoded))


@pytest.mark.parametrize("bad", [b"\x00\x01", b"\x02\x00\x05ab", b"\x11", b"\x03\x00\x01a"])
def test_amf0_refuses_what_is_not_amf0(bad: bytes) -> None:
    with pytest.raises(rp.Amf0Error):
        rp.amf0_decode_all(bad)


def test_connect_command_carries_the_app_and_url_and_no_key() -> None:
    body = rp.connect_command("game", "rtmps://push.example.com:443/game")
    assert rp.amf0_decode_all(body) == [
        "connect",
        1.0,
        {"app": "game", "type": "nonprivate", "flashVer": rp.FLASH_VER,
         "tcUrl": "rtmps://push.example.com:443/game"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("scheme", "host", "port", "app", "url"),
    [
        ("rtmp", "127.0.0.1", 1935, "live", "rtmp://127.0.0.1:1935/live"),
        ("rtmps", "::1", 443, "game", "rtmps://[::1]:443/game"),
    ],
)
def test_tc_url(scheme: str, host: str, port: int, app: str, url: str) -> None:
    assert rp.tc_url(scheme, host, port, app) == url


# -- chunks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "chunk_size", "headers"),
    [(0, 128, 1), (10, 128, 1), (128, 128, 1), (129, 128, 2), (300, 128, 3), (300, 4096, 1)],
)
def test_chunks_round_trip(size: int, chunk_size: int, headers: int) -> None:
    body = bytes(range(256)) * 2
    body = body[:size]
    data = rp.chunks(body, rp.MSG_COMMAND_AMF0, chunk_size=chunk_size)
    assert len(data) == 12 + (headers - 1) + size
    reader = rp.ChunkReader()
    reader.chunk_size = chunk_size
    # fed one byte at a time: a message is whole only when its last byte arrives
    messages = [m for byte in data for m in reader.feed(bytes([byte]))]
    assert messages == [rp.RtmpMessage(rp.MSG_COMMAND_AMF0, 0, body)]


def test_chunk_reader_header_forms() -> None:
    reader = rp.ChunkReader()
    # fmt 0 on chunk stream 64 + 6 (two-byte id), extended timestamp, stream id 1
    first = (
        bytes([0x00, 6]) + b"\xff\xff\xff" + (3).to_bytes(3, "big") + bytes([20])
        + (1).to_bytes(4, "little") + b"\x00\x00\x00\x10" + b"abc"
    )  # fmt: skip
    # fmt 1 (same stream id, new length and type) on the same chunk stream
    second = bytes([0x40, 6]) + bytes(3) + (2).to_bytes(3, "big") + bytes([18]) + b"xy"
    # fmt 2 (timestamp delta only), then fmt 3: the same length and type again
    third = bytes([0x80, 6]) + bytes(3) + b"pq" + bytes([0xC0, 6]) + b"rs"
    # three-byte chunk stream id: 64 + 1 + 256 * 1
    fourth = bytes([0x01, 1, 1]) + bytes(3) + (1).to_bytes(3, "big") + bytes([4]) + bytes(4) + b"z"
    assert reader.feed(first + second + third + fourth) == [
        rp.RtmpMessage(20, 1, b"abc"),
        rp.RtmpMessage(18, 1, b"xy"),
        rp.RtmpMessage(18, 1, b"pq"),
        rp.RtmpMessage(18, 1, b"rs"),
        rp.RtmpMessage(4, 0, b"z"),
    ]


def test_set_chunk_size_applies_to_what_follows() -> None:
    body = bytes(200)
    data = rp.chunks((4096).to_bytes(4, "big"), rp.MSG_SET_CHUNK_SIZE, csid=2) + rp.chunks(
        body, rp.MSG_COMMAND_AMF0, chunk_size=4096
    )
    messages = rp.ChunkReader().feed(data)
    assert [m.msg_type for m in messages] == [rp.MSG_SET_CHUNK_SIZE, rp.MSG_COMMAND_AMF0]
    assert messages[1].body == body


@pytest.mark.parametrize(
    "data",
    [
        b"\xc3" + bytes(20),  # a continuation on a chunk stream never started
        b"HTTP/1.1 400 Bad Request\r\n",  # fmt 1 on stream 8, unknown
        bytes([3]) + bytes(3) + b"\xff\xff\xff" + bytes([20]) + bytes(4),  # 16 MB "message"
    ],
)
def test_chunk_reader_refuses_what_is_not_rtmp(data: bytes) -> None:
    with pytest.raises(rp.NotRtmp):
        rp.ChunkReader().feed(data)


# -- the handshake and the answer ------------------------------------------------------


def test_c0c1() -> None:
    data = rp.c0c1(0x1_0000_0005, random=lambda n: b"r" * n)
    assert len(data) == 1537
    assert data[:9] == b"\x03\x00\x00\x00\x05\x00\x00\x00\x00" and data[9:] == b"r" * 1528


@pytest.mark.parametrize(
    ("head", "tls"),
    [
        (b"", False),  # closed at once
        (b"\x15\x03\x01\x00\x02\x02\x46", True),  # a TLS alert
        (b"\x16\x03\x03\x00\x5a", True),  # a TLS handshake record
        (b"HTTP/1.1 400 Bad Request\r\n", False),
        (b"\x06" + bytes(1536), False),  # encrypted RTMP (RTMPE): not what the kit speaks
        (b"\x03" + bytes(100), False),  # S1 cut short
    ],
)
def test_what_is_not_an_rtmp_handshake(head: bytes, tls: bool) -> None:
    with pytest.raises(rp.NotRtmp) as caught:
        rp.check_s0s1(head)
    assert caught.value.looks_like_tls is tls


def test_s0s1_gives_s1() -> None:
    s1 = bytes(range(256)) * 6
    assert rp.check_s0s1(b"\x03" + s1 + b"rest") == s1


def command(*values: object, msg_type: int = rp.MSG_COMMAND_AMF0) -> rp.RtmpMessage:
    return rp.RtmpMessage(msg_type, 0, b"".join(rp.amf0_encode(v) for v in values))


OK_INFO = {"level": "status", "code": "NetConnection.Connect.Success", "description": "ok"}


@pytest.mark.parametrize(
    ("message", "answer"),
    [
        (command("_result", 1, {"fmsVer": "FMS/3,0,1,123"}, OK_INFO),
         rp.ConnectAnswer("_result", "NetConnection.Connect.Success", "ok")),
        (command("_error", 1, None, {"code": "NetConnection.Connect.Rejected",
                                     "description": "no app"}),
         rp.ConnectAnswer("_error", "NetConnection.Connect.Rejected", "no app")),
        (command("_result", 1), rp.ConnectAnswer("_result", "", "")),
        (command("onBWDone", 0, None), None),
        (command("_result", 2, None, OK_INFO), None),  # another transaction
        (command("_result", 1, None, OK_INFO, msg_type=5), None),  # not a command
        (rp.RtmpMessage(rp.MSG_COMMAND_AMF0, 0, b"\x11junk"), None),
    ],
)  # fmt: skip
def test_connect_answer(message: rp.RtmpMessage, answer: rp.ConnectAnswer | None) -> None:
    assert rp.connect_answer(message) == answer


# -- rtmp_connect against the loopback peer ---------------------------------------------


def test_rtmp_connect_against_the_fake_peer() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        seen: list[object] = []

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                seen.append(fake_rtmp.answer(conn))

        threading.Thread(target=serve, daemon=True).start()
        with socket.create_connection(server.getsockname()) as sock:
            answer = rp.rtmp_connect(sock, "game", "rtmp://x/game", time.monotonic() + 3)
    assert answer.code == "NetConnection.Connect.Success"
    assert seen and seen[0]["app"] == "game"  # type: ignore[index]


# -- the key's own expiry ------------------------------------------------------------------

UTC = datetime.UTC
STOCKHOLM_WINTER = datetime.timezone(datetime.timedelta(hours=1))
NOW = datetime.datetime(2026, 12, 1, 13, 0, tzinfo=UTC).timestamp()  # 14:00 in Stockholm


def key(expire: object) -> str:
    return f"stream-123456789?expire={expire}&sign=0123abcd"


@pytest.mark.parametrize(
    ("the_key", "level", "said"),
    [
        ("stream-123456789", None, None),  # no expiry: no verdict
        ("stream-1?sign=abc", None, None),
        (key("soon"), None, None),  # not a number: no verdict
        (key(""), None, None),
        (key(int(NOW) + 3600), None, None),  # an hour: nothing to say
        (key(int(NOW) + 15 * 60), None, None),
        (key(int(NOW) + 15 * 60 - 1), Level.WARN,
         "This key expires in 14 minutes: for a longer broadcast, get a new one in the "
         "TikTok app."),
        (key(int(NOW) + 10 * 60), Level.WARN, "This key expires in 10 minutes: for a longer "
         "broadcast, get a new one in the TikTok app."),
        (key(int(NOW) + 120), Level.WARN, "This key expires in 2 minutes: for a longer "
         "broadcast, get a new one in the TikTok app."),
        (key(int(NOW) + 119), Level.WARN,
         "This key expires in less than 2 minutes: get a new one in the TikTok app."),
        (key(int(NOW)), Level.FAIL,
         "This key expired at 14:00: get a new one in the TikTok app."),
        (key(int(NOW) + 5 * 60 - 3600), Level.FAIL,
         "This key expired at 13:05: get a new one in the TikTok app."),
        (key(int(NOW) - 3 * 86400), Level.FAIL,
         "This key expired at 2026-11-28 14:00: get a new one in the TikTok app."),
    ],
)  # fmt: skip
def test_expiry_result(the_key: str, level: Level | None, said: str | None) -> None:
    result = net.expiry_result(the_key, NOW, STOCKHOLM_WINTER)
    if level is None:
        assert result is None
        return
    assert result is not None
    assert (result.id, result.status, result.message) == ("ingest", level, said)
    assert "0123abcd" not in result.message and "123456789" not in result.message


def test_expiry_in_the_kits_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        result = net.expiry_result(key(int(NOW) - 60), NOW)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert result is not None and "expired at 12:59" in result.message


def test_an_expired_key_fails_before_any_connection() -> None:
    cfg = config.from_dict(
        {"stream": {"server": "rtmp://192.0.2.1:1935/live/", "key": key(int(NOW) - 60)}}
    )
    ctx = Context(cfg, camera_ok=lambda: True, microphone_ok=lambda: True)

    def no_lookup(*args: object, **kw: object) -> list[object]:
        raise AssertionError("no connection for an expired key")

    start = time.monotonic()
    result = net.check_ingest(ctx, resolver=no_lookup, clock=lambda: NOW, tz=STOCKHOLM_WINTER)
    assert time.monotonic() - start < 0.5  # 192.0.2.1 (TEST-NET) was never tried
    assert (result.status, result.message) == (
        Level.FAIL, "This key expired at 13:59: get a new one in the TikTok app."
    )  # fmt: skip


def test_a_key_about_to_expire_warns_when_the_server_answers() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                fake_rtmp.answer(conn)

        threading.Thread(target=serve, daemon=True).start()
        cfg = config.from_dict(
            {"stream": {"server": f"rtmp://127.0.0.1:{port}/live/", "key": key(int(NOW) + 600)}}
        )
        ctx = Context(cfg, camera_ok=lambda: True, microphone_ok=lambda: True)
        result = net.check_ingest(ctx, clock=lambda: NOW)
    assert result.status is Level.WARN
    assert result.message.startswith("This key expires in 10 minutes")
