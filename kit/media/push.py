"""Whether the network push is up, down, refused or unreachable. Pure; time is passed in.

The fifo muxer reconnects by itself; this tracker turns its log into the
machine's events and decides when retrying is pointless:

- An attempt where TCP connected but the RTMP open still failed (the server
  closed the connection or said why) is a *refusal*: after ``tries`` of them in
  a row the key is rejected. An expired key is refused on a reconnect too.
- An attempt where the TCP (or TLS) connection itself failed is *unreachable*:
  after ``tries`` of them before the stream was ever up, the server is
  unreachable. Once the stream has been up, the same failures mean the network
  is down: keep reconnecting (the recording goes on) until the creator ends.
- Up is what the server did: ffmpeg sends media only once the server has answered
  the publish with NetStream.Publish.Start, so once the ingest has acknowledged
  ``MEDIA_ACKED`` bytes more on the push connection (the kernel's TCP counters,
  ``acknowledged``) the publish was accepted and media is flowing. No log line is
  needed: ffmpeg leaves out "Successfully connected" when the connect completes at
  once. Without a reading of the counters (``by_acks`` false), the push counts as up
  once TCP connected and ``settle`` seconds passed without an error. A refusal that
  comes later still counts as one: the key is reported rejected.
"""

from __future__ import annotations

import enum

from kit.machine import Ev
from kit.media.ffmpeg_log import Kind, LogEvent


class Phase(enum.Enum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    GONE = "gone"  # gave up: rejected or unreachable was reported


# More than the RTMP handshake (3 KB), connect and publish (under 1 KB) and a TLS
# handshake (about 5 KB) together: media has been acknowledged.
MEDIA_ACKED = 32 * 1024


class PushTracker:
    def __init__(
        self,
        now: float,
        tries: int = 3,
        settle: float = 2.0,
        stable: float = 10.0,
        connect_timeout: float = 20.0,
        by_acks: bool = False,
    ) -> None:
        self.tries, self.settle, self.stable = tries, settle, stable
        self.by_acks = by_acks
        # Acknowledged bytes on the connection when the push went down (0: a new
        # connection); up again once MEDIA_ACKED more have been acknowledged.
        self._ack_base = 0
        self._last_acked = 0
        self.connect_timeout = connect_timeout
        self.phase = Phase.CONNECTING
        self.ever_up = False
        self.reconnects = 0
        self.last_failure = ""
        self._started = now
        # When TCP connected in the current attempt (None: not yet, or settled).
        self._tcp_ok_at: float | None = None
        # Whether TCP connected in the current attempt: an open that fails
        # afterwards, even after the settle time, was refused by the server.
        self._tcp_ok = False
        self._up_since: float | None = None
        self._server_said = ""
        self._tls_failed = False
        self._tls_detail = ""
        self._refused = 0
        self._unreachable = 0

    def restarted(self, now: float) -> list[Ev]:
        """ffmpeg was restarted: a new connection attempt begins."""
        self._ack_base = self._last_acked = 0
        self._tcp_ok_at = None
        self._tcp_ok = False
        self._tls_failed = False
        self._started = now
        return self._went_down() if self.phase is Phase.UP else []

    def stalled(self) -> list[Ev]:
        """The ingest stopped acknowledging data (a dead link, seen in the kernel's
        TCP counters): the stream is not reaching viewers, though ffmpeg has not noticed."""
        return self._went_down() if self.phase is Phase.UP else []

    def resumed(self, now: float) -> list[Ev]:
        """Data is acknowledged again on the same connection."""
        return self._went_up(now) if self.phase is Phase.DOWN else []

    def acknowledged(self, acked: int | None, now: float) -> list[Ev]:
        """The bytes the ingest has acknowledged on the push connection now (None: no
        connection). Up once media has been acknowledged since the push went down."""
        if acked is None or self.phase in (Phase.UP, Phase.GONE):
            if acked is not None:
                self._last_acked = acked
            return []
        if acked < self._ack_base:
            self._ack_base = 0  # a new connection counts from zero
        self._last_acked = acked
        if acked - self._ack_base >= MEDIA_ACKED:
            return self._went_up(now)
        return []

    def feed(self, ev: LogEvent, now: float) -> list[Ev]:
        if self.phase is Phase.GONE:
            return []
        k = ev.kind
        if k is Kind.TCP_CONNECTED:
            self._tcp_ok_at = now
            self._tcp_ok = True
            self._tls_failed = False
        elif k is Kind.TLS_FAILED:
            self._tls_failed = True
            self._tls_detail = ev.detail
        elif k is Kind.SERVER_ERROR:
            self._server_said = ev.detail
        elif k is Kind.OPEN_FAILED:
            return self._attempt_failed(ev.detail)
        elif k is Kind.RECOVERY_ATTEMPT and self.phase is Phase.UP:
            return self._went_down()
        elif k is Kind.RECOVERY_OK:
            return self._went_up(now)
        return []

    def tick(self, now: float) -> list[Ev]:
        if self.phase is Phase.UP:
            if self._up_since is not None and now - self._up_since >= self.stable:
                # Only a connection that held proves the key: a server may
                # accept the publish and drop it a moment later.
                self._refused = self._unreachable = 0
            return []
        if self.phase is Phase.GONE:
            return []
        if (
            not self.by_acks
            and self._tcp_ok_at is not None
            and now - self._tcp_ok_at >= self.settle
        ):
            return self._went_up(now)
        if not self.ever_up and now - self._started >= self.connect_timeout:
            self.phase = Phase.GONE
            self.last_failure = "the server did not answer"
            return [Ev.UNREACHABLE]
        return []

    def _went_up(self, now: float) -> list[Ev]:
        self._tcp_ok_at = None
        if self.phase is Phase.UP:
            return []
        self.phase = Phase.UP
        self.ever_up = True
        self._up_since = now
        return [Ev.PUSH_UP]

    def _went_down(self) -> list[Ev]:
        self._ack_base = self._last_acked
        self.phase = Phase.DOWN
        self._up_since = None
        self.reconnects += 1
        return [Ev.PUSH_DOWN]

    def _attempt_failed(self, reason: str) -> list[Ev]:
        refused = (self._tcp_ok and not self._tls_failed) or bool(self._server_said)
        tls = self._tls_detail if self._tls_failed else ""
        self.last_failure = self._server_said or tls or reason
        self._tcp_ok_at = None
        self._tcp_ok = False
        self._server_said = ""
        self._tls_failed = False
        events = self._went_down() if self.phase is Phase.UP else []
        if refused:
            self._refused += 1
            self._unreachable = 0
        else:
            self._unreachable += 1
            self._refused = 0
        if self._refused >= self.tries:
            self.phase = Phase.GONE
            return [*events, Ev.KEY_REJECTED]
        if not self.ever_up and self._unreachable >= self.tries:
            self.phase = Phase.GONE
            return [*events, Ev.UNREACHABLE]
        return events
