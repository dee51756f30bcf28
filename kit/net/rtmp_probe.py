"""Does the server speak RTMP? A handshake and a ``connect``, never a publish, never the key.

The pre-flight ``ingest`` check and the page's Test connection use this to tell an RTMP
ingest from a port that only accepts TCP (a web server, a TLS front end reached with
rtmp://). It is the start of what ffmpeg does when it goes live (RTMP specification 1.0,
sections 5.2 and 7.2.1.1):

1. the handshake: C0 (version 3) and C1 (1536 bytes) out; S0, S1 and S2 in; C2 (S1 echoed)
   out;
2. the ``connect`` command (AMF0: "connect", transaction 1, an object with the app and
   tcUrl from the server URL) in one message on chunk stream 3;
3. the server's answer: ``_result`` (NetConnection.Connect.Success) or ``_error``.

The stream key belongs to ``publish``, which is never sent: the server URL alone goes out.

The pure part (AMF0 values, chunk framing, the handshake's checks) is tested as tables;
:func:`rtmp_connect` is the I/O at the edge, on a socket the caller opened (plain or TLS),
with one deadline for all of it.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

VERSION = 3
HANDSHAKE_SIZE = 1536
DEFAULT_CHUNK_SIZE = 128
COMMAND_CSID = 3
MSG_SET_CHUNK_SIZE = 1
MSG_COMMAND_AMF0 = 20
FLASH_VER = "FMLE/3.0 (compatible; kit)"
MAX_MESSAGE = 1 << 20  # a connect answer is a few hundred bytes; more is not an answer

# -- errors ------------------------------------------------------------------------------


class NotRtmp(Exception):
    """The peer answered, but not an RTMP handshake. `head` is what it sent first (b"" if
    it closed at once): a TLS record there means a TLS port."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        super().__init__(f"not an RTMP handshake (first bytes {head[:8]!r})")

    @property
    def looks_like_tls(self) -> bool:
        return looks_like_tls(self.head)


class ConnectRefused(Exception):
    """The handshake went through, but the server did not accept ``connect``: an ``_error``
    (`code` and `description` from its info object), or it closed the connection."""

    def __init__(self, code: str, description: str) -> None:
        self.code = code
        self.description = description
        super().__init__(f"{code}: {description}" if description else code)


class RtmpTimeout(TimeoutError):
    """No answer in time; `step` is "handshake" or "connect"."""

    def __init__(self, step: str) -> None:
        self.step = step
        super().__init__(step)


def looks_like_tls(head: bytes) -> bool:
    """A TLS record's header: content type alert (21) or handshake (22), version 3.x."""
    return len(head) >= 2 and head[0] in (0x15, 0x16) and head[1] == 0x03


# -- AMF0 --------------------------------------------------------------------------------

NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED, ECMA_ARRAY, OBJECT_END = 0, 1, 2, 3, 5, 6, 8, 9
STRICT_ARRAY, LONG_STRING = 0x0A, 0x0C


class Amf0Error(ValueError):
    pass


def _utf8(s: str) -> bytes:
    data = s.encode("utf-8")
    return struct.pack(">H", len(data)) + data


def amf0_encode(value: Any) -> bytes:
    """float/int -> number, bool, str, None -> null, dict -> object (keys in order)."""
    if value is None:
        return bytes([NULL])
    if isinstance(value, bool):
        return bytes([BOOLEAN, int(value)])
    if isinstance(value, (int, float)):
        return bytes([NUMBER]) + struct.pack(">d", float(value))
    if isinstance(value, str):
        data = value.encode("utf-8")
        if len(data) > 0xFFFF:
            return bytes([LONG_STRING]) + struct.pack(">I", len(data)) + data
        return bytes([STRING]) + _utf8(value)
    if isinstance(value, dict):
        body = b"".join(_utf8(k) + amf0_encode(v) for k, v in value.items())
        return bytes([OBJECT]) + body + b"\x00\x00" + bytes([OBJECT_END])
    raise TypeError(f"no AMF0 form for {type(value).__name__}")


def _take(data: bytes, pos: int, n: int) -> tuple[bytes, int]:
    if pos + n > len(data):
        raise Amf0Error("truncated AMF0 value")
    return data[pos : pos + n], pos + n


def _read_utf8(data: bytes, pos: int, length_bytes: int = 2) -> tuple[str, int]:
    raw, pos = _take(data, pos, length_bytes)
    n = int.from_bytes(raw, "big")
    raw, pos = _take(data, pos, n)
    return raw.decode("utf-8", "replace"), pos


def _read_pairs(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while True:
        key, pos = _read_utf8(data, pos)
        if key == "" and pos < len(data) and data[pos] == OBJECT_END:
            return out, pos + 1
        out[key], pos = amf0_decode_one(data, pos)


def amf0_decode_one(data: bytes, pos: int = 0) -> tuple[Any, int]:
    """One AMF0 value at `pos`: (value, position after it). Amf0Error if it is not one."""
    marker, pos = _take(data, pos, 1)
    m = marker[0]
    if m == NUMBER:
        raw, pos = _take(data, pos, 8)
        return struct.unpack(">d", raw)[0], pos
    if m == BOOLEAN:
        raw, pos = _take(data, pos, 1)
        return raw != b"\x00", pos
    if m == STRING:
        return _read_utf8(data, pos)
    if m == LONG_STRING:
        return _read_utf8(data, pos, 4)
    if m in (NULL, UNDEFINED):
        return None, pos
    if m == OBJECT:
        return _read_pairs(data, pos)
    if m == ECMA_ARRAY:
        _, pos = _take(data, pos, 4)  # the count is a hint; the end marker ends it
        return _read_pairs(data, pos)
    if m == STRICT_ARRAY:
        raw, pos = _take(data, pos, 4)
        items = []
        for _ in range(int.from_bytes(raw, "big")):
            item, pos = amf0_decode_one(data, pos)
            items.append(item)
        return items, pos
    raise Amf0Error(f"AMF0 type {m} not understood")


def amf0_decode_all(data: bytes) -> list[Any]:
    values, pos = [], 0
    while pos < len(data):
        value, pos = amf0_decode_one(data, pos)
        values.append(value)
    return values


# -- the handshake and the connect command -----------------------------------------------


def c0c1(now_ms: int = 0, random: Callable[[int], bytes] = os.urandom) -> bytes:
    """C0 (the version) and C1: time, four zero bytes, 1528 random bytes."""
    return bytes([VERSION]) + struct.pack(">I", now_ms & 0xFFFFFFFF) + bytes(4) + random(1528)


def check_s0s1(head: bytes) -> bytes:
    """S0 and S1 (1537 bytes) -> S1; NotRtmp if S0 is not version 3."""
    if len(head) < 1 + HANDSHAKE_SIZE or head[0] != VERSION:
        raise NotRtmp(head)
    return head[1 : 1 + HANDSHAKE_SIZE]


def tc_url(scheme: str, host: str, port: int, app: str) -> str:
    netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{netloc}:{port}/{app}"


def connect_command(app: str, tc_url: str) -> bytes:
    """The AMF0 body of ``connect``, as an encoder (FMLE, ffmpeg) sends it: no key in it."""
    return (
        amf0_encode("connect")
        + amf0_encode(1)
        + amf0_encode({"app": app, "type": "nonprivate", "flashVer": FLASH_VER, "tcUrl": tc_url})
    )


def chunks(
    body: bytes, msg_type: int, csid: int = COMMAND_CSID, stream_id: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> bytes:  # fmt: skip
    """One message as chunks: a type-0 header (timestamp 0), then type-3 headers."""
    if not 2 <= csid <= 63:
        raise ValueError("only one-byte chunk stream ids are written")
    header = (
        bytes([csid])
        + bytes(3)
        + len(body).to_bytes(3, "big")
        + bytes([msg_type])
        + stream_id.to_bytes(4, "little")
    )
    parts = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)] or [b""]
    return header + b"".join(
        (b"" if i == 0 else bytes([0xC0 | csid])) + part for i, part in enumerate(parts)
    )


@dataclass
class _Stream:
    timestamp: int = 0
    length: int = 0
    msg_type: int = 0
    stream_id: int = 0
    extended: bool = False
    body: bytearray = field(default_factory=bytearray)


@dataclass(frozen=True)
class RtmpMessage:
    msg_type: int
    stream_id: int
    body: bytes


class ChunkReader:
    """Reassembles messages from the server's chunks, fed as bytes arrive (pure).

    Knows the four header types, the two- and three-byte chunk stream ids, the extended
    timestamp and Set Chunk Size (which it applies to what follows).
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.chunk_size = DEFAULT_CHUNK_SIZE
        self.streams: dict[int, _Stream] = {}

    def feed(self, data: bytes) -> list[RtmpMessage]:
        self.buffer += data
        out = []
        while (message := self._one()) is not None:
            if message is not _PARTIAL:
                out.append(message)
        return out

    def _one(self) -> Any:
        b = self.buffer
        if not b:
            return None
        fmt, csid, pos = b[0] >> 6, b[0] & 0x3F, 1
        if csid == 0:
            if len(b) < 2:
                return None
            csid, pos = 64 + b[1], 2
        elif csid == 1:
            if len(b) < 3:
                return None
            csid, pos = 64 + b[1] + 256 * b[2], 3
        size = (11, 7, 3, 0)[fmt]
        if len(b) < pos + size:
            return None
        h = bytes(b[pos : pos + size])
        pos += size
        known = csid in self.streams
        if fmt != 0 and not known:
            raise NotRtmp(bytes(b[:8]))
        s = self.streams.setdefault(csid, _Stream())
        if fmt <= 2:
            ts = int.from_bytes(h[0:3], "big")
            s.extended = ts == 0xFFFFFF
            if fmt <= 1:
                s.length = int.from_bytes(h[3:6], "big")
                s.msg_type = h[6]
                if s.length > MAX_MESSAGE:
                    raise NotRtmp(bytes(b[:8]))
            if fmt == 0:
                s.stream_id = int.from_bytes(h[7:11], "little")
        if s.extended:
            if len(b) < pos + 4:
                return None
            pos += 4
        n = min(self.chunk_size, s.length - len(s.body))
        if len(b) < pos + n:
            return None
        s.body += b[pos : pos + n]
        del b[: pos + n]
        if len(s.body) < s.length:
            return _PARTIAL
        message = RtmpMessage(s.msg_type, s.stream_id, bytes(s.body))
        s.body = bytearray()
        if message.msg_type == MSG_SET_CHUNK_SIZE and len(message.body) >= 4:
            self.chunk_size = max(1, int.from_bytes(message.body[:4], "big") & 0x7FFFFFFF)
        return message


_PARTIAL = object()


@dataclass(frozen=True)
class ConnectAnswer:
    """The answer to ``connect``: "_result" or "_error", and its info object's code."""

    name: str
    code: str
    description: str


def connect_answer(message: RtmpMessage) -> ConnectAnswer | None:
    """The answer to our ``connect`` (transaction 1) in `message`, or None (pure)."""
    if message.msg_type != MSG_COMMAND_AMF0:
        return None
    try:
        values = amf0_decode_all(message.body)
    except Amf0Error:
        return None
    if len(values) < 2 or values[0] not in ("_result", "_error") or values[1] != 1:
        return None
    info = next((v for v in reversed(values[2:]) if isinstance(v, dict)), {})
    return ConnectAnswer(values[0], str(info.get("code", "")), str(info.get("description", "")))


# -- I/O ---------------------------------------------------------------------------------


def read_exactly(sock: socket.socket, n: int, deadline: float, step: str) -> bytes:
    """Up to `n` bytes by `deadline`: fewer if the peer closes, or (at the handshake) as
    soon as the first bytes show it is not RTMP. RtmpTimeout if none of that in time."""
    data = bytearray()
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RtmpTimeout(step)
        sock.settimeout(left)
        try:
            more = sock.recv(n - len(data))
        except TimeoutError:
            raise RtmpTimeout(step) from None
        except ConnectionResetError:
            if step != "handshake":
                raise
            more = b""  # reset at the handshake: as good as closed
        if not more:
            return bytes(data)
        data += more
        if step == "handshake" and (data[0] != VERSION or looks_like_tls(bytes(data[:2]))):
            return bytes(data)  # not RTMP: no need to wait for the rest
    return bytes(data)


def rtmp_connect(
    sock: socket.socket,
    app: str,
    url: str,
    deadline: float,
    handshake_deadline: float | None = None,
    now_ms: int = 0,
) -> ConnectAnswer:
    """Handshake (until `handshake_deadline`, default `deadline`) and ``connect`` on an open
    socket (plain or TLS) until `deadline` (both time.monotonic()). Returns the ``_result``;
    raises NotRtmp, ConnectRefused, RtmpTimeout or OSError."""
    try:
        sock.sendall(c0c1(now_ms))
    except (BrokenPipeError, ConnectionResetError):
        raise NotRtmp(b"") from None
    shake_by = deadline if handshake_deadline is None else handshake_deadline
    head = read_exactly(sock, 1 + 2 * HANDSHAKE_SIZE, shake_by, "handshake")
    s1 = check_s0s1(head)
    if len(head) < 1 + 2 * HANDSHAKE_SIZE:  # S2 missing: the server closed
        raise NotRtmp(head[:8])
    sock.sendall(s1 + chunks(connect_command(app, url), MSG_COMMAND_AMF0))
    reader = ChunkReader()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RtmpTimeout("connect")
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except TimeoutError:
            raise RtmpTimeout("connect") from None
        if not data:
            raise ConnectRefused("closed", "the server closed the connection")
        for message in reader.feed(data):
            answer = connect_answer(message)
            if answer is None:
                continue
            if answer.name == "_error":
                raise ConnectRefused(answer.code, answer.description)
            return answer
