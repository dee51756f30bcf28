"""A minimal RTMP server side for loopback tests: the handshake, then an answer to
``connect`` (``_result``, or ``_error`` for the apps in `refuse`), written with the kit's own
framing (kit.net.rtmp_probe) and read back with it. For what nginx does, tests/peers/ingest.py.
"""

from __future__ import annotations

import socket

from kit.net import rtmp_probe as rp


def answer(conn: socket.socket, refuse: frozenset[str] = frozenset()) -> dict | None:
    """Serve one connection: returns the connect command's object (None if none came)."""
    conn.settimeout(5)
    head = b""
    while len(head) < 1 + rp.HANDSHAKE_SIZE:
        more = conn.recv(4096)
        if not more:
            return None
        head += more
    c1 = head[1 : 1 + rp.HANDSHAKE_SIZE]
    conn.sendall(bytes([rp.VERSION]) + bytes(rp.HANDSHAKE_SIZE) + c1)  # S0, S1, S2
    rest = head[1 + rp.HANDSHAKE_SIZE :]
    while len(rest) < rp.HANDSHAKE_SIZE:  # C2
        more = conn.recv(4096)
        if not more:
            return None
        rest += more
    reader = rp.ChunkReader()
    messages = reader.feed(rest[rp.HANDSHAKE_SIZE :])
    while not messages:
        more = conn.recv(4096)
        if not more:
            return None
        messages = reader.feed(more)
    name, _, info = rp.amf0_decode_all(messages[0].body)[:3]
    assert name == "connect"
    refused = info.get("app") in refuse
    reply = (
        rp.amf0_encode("_error" if refused else "_result")
        + rp.amf0_encode(1)
        + rp.amf0_encode(None)
        + rp.amf0_encode(
            {
                "level": "error" if refused else "status",
                "code": "NetConnection.Connect.Rejected"
                if refused
                else "NetConnection.Connect.Success",
                "description": "no such app" if refused else "Connection succeeded.",
            }
        )
    )
    # A Set Chunk Size first, as servers do, so the client must apply it.
    conn.sendall(
        rp.chunks((4096).to_bytes(4, "big"), rp.MSG_SET_CHUNK_SIZE, csid=2)
        + rp.chunks(reply, rp.MSG_COMMAND_AMF0, chunk_size=4096)
    )
    return info
