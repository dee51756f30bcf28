"""kit.media.push.PushTracker: ffmpeg's log events and explicit times -> machine events."""

from __future__ import annotations

import pytest

from kit.machine import Ev
from kit.media.ffmpeg_log import Kind, LogEvent
from kit.media.push import Phase, PushTracker

TCP_OK = LogEvent(Kind.TCP_CONNECTED, "Successfully connected to 127.0.0.1 port 19350")
REFUSED = LogEvent(Kind.OPEN_FAILED, "Connection refused")
EIO = LogEvent(Kind.OPEN_FAILED, "Input/output error")
RECOVERY = LogEvent(Kind.RECOVERY_ATTEMPT, "Recovery attempt #1")
RECOVERED = LogEvent(Kind.RECOVERY_OK)
TLS_BAD = LogEvent(Kind.TLS_FAILED, "The certificate is not trusted.")
UNAUTHORIZED = LogEvent(Kind.SERVER_ERROR, "Unauthorized")


def _tracker() -> PushTracker:
    return PushTracker(0.0, tries=3, settle=1.0, stable=10.0, connect_timeout=20.0)


def _up(t: PushTracker, at: float = 0.0) -> None:
    """The first connect: TCP connected, then quiet for the settle time."""
    assert t.feed(TCP_OK, at) == []
    assert t.tick(at + 1.0) == [Ev.PUSH_UP]


def _rejected_attempt(t: PushTracker, at: float) -> list[Ev]:
    """One reconnect where TCP connects and the RTMP open still fails."""
    return t.feed(TCP_OK, at) + t.feed(EIO, at + 0.1)


def test_first_connect_reports_up_once() -> None:
    t = _tracker()
    assert t.feed(TCP_OK, 0.0) == []
    assert t.tick(0.5) == []  # not settled yet: an error may still come
    assert t.tick(1.0) == [Ev.PUSH_UP]
    assert t.tick(1.5) == []
    assert t.tick(60.0) == []
    assert (t.phase, t.ever_up, t.reconnects) == (Phase.UP, True, 0)


def test_refused_three_times_before_up_is_unreachable_once() -> None:
    t = _tracker()
    assert t.feed(REFUSED, 1.0) == []
    assert t.feed(REFUSED, 2.0) == []
    assert t.feed(REFUSED, 3.0) == [Ev.UNREACHABLE]
    assert t.last_failure == "Connection refused"
    # Gave up: nothing more, whatever ffmpeg still logs.
    assert t.feed(REFUSED, 4.0) == []
    assert t.feed(TCP_OK, 5.0) == []
    assert t.tick(7.0) == []
    assert t.tick(100.0) == []
    assert t.phase is Phase.GONE


def test_tcp_connected_but_open_failed_is_key_rejected() -> None:
    t = _tracker()
    assert _rejected_attempt(t, 0.0) == []
    assert _rejected_attempt(t, 0.5) == []
    assert _rejected_attempt(t, 1.0) == [Ev.KEY_REJECTED]
    assert t.last_failure == "Input/output error"
    assert _rejected_attempt(t, 1.5) == []


def test_server_error_counts_as_refused_and_is_the_reason() -> None:
    t = _tracker()
    events: list[Ev] = []
    for i in range(3):
        # No TCP line at all: the server's own words are proof enough.
        events += t.feed(UNAUTHORIZED, i) + t.feed(EIO, i + 0.1)
    assert events == [Ev.KEY_REJECTED]
    assert t.last_failure == "Unauthorized"


def test_tls_failure_after_tcp_connect_is_unreachable_not_rejected() -> None:
    t = _tracker()
    events: list[Ev] = []
    for i in range(3):
        events += t.feed(TCP_OK, i) + t.feed(TLS_BAD, i + 0.05) + t.feed(EIO, i + 0.1)
    assert events == [Ev.UNREACHABLE]
    assert t.last_failure == "The certificate is not trusted."


def test_tcp_connect_after_tls_failure_starts_clean() -> None:
    t = _tracker()
    assert t.feed(TCP_OK, 0.0) + t.feed(TLS_BAD, 0.1) + t.feed(EIO, 0.2) == []
    # The TLS flag of the previous attempt must not excuse the next refusals.
    assert _rejected_attempt(t, 1.0) == []
    assert _rejected_attempt(t, 2.0) == []
    assert _rejected_attempt(t, 3.0) == [Ev.KEY_REJECTED]


def test_mixed_failures_need_three_of_a_kind_in_a_row() -> None:
    t = _tracker()
    assert _rejected_attempt(t, 0.0) == []
    assert _rejected_attempt(t, 1.0) == []
    assert t.feed(REFUSED, 2.0) == []  # unreachable: the refusal streak ends
    assert _rejected_attempt(t, 3.0) == []
    assert t.feed(REFUSED, 4.0) == []
    assert t.feed(REFUSED, 5.0) == []
    assert t.phase is Phase.CONNECTING


def test_drop_reconnect_and_recovery() -> None:
    t = _tracker()
    _up(t)
    assert t.feed(RECOVERY, 30.0) == [Ev.PUSH_DOWN]
    assert t.reconnects == 1
    # A second recovery attempt while already down is not another drop.
    assert t.feed(RECOVERY, 31.0) == []
    # Once the stream was up, an unreachable server means the network is down:
    # keep trying for as long as it takes.
    for i in range(20):
        assert t.feed(REFUSED, 32.0 + i) == []
        assert t.tick(32.5 + i) == []
    assert t.phase is Phase.DOWN
    assert t.tick(1000.0) == []  # the connect timeout is for the first connect only
    assert t.feed(RECOVERED, 1001.0) == [Ev.PUSH_UP]
    assert t.feed(RECOVERY, 1100.0) == [Ev.PUSH_DOWN]
    assert t.feed(RECOVERED, 1101.0) == [Ev.PUSH_UP]
    assert t.reconnects == 2


def test_open_failed_while_up_is_a_drop() -> None:
    t = _tracker()
    _up(t)
    assert t.feed(REFUSED, 30.0) == [Ev.PUSH_DOWN]
    assert (t.phase, t.reconnects) == (Phase.DOWN, 1)


def test_recovery_ok_while_up_is_not_reported_twice() -> None:
    t = _tracker()
    _up(t)
    assert t.feed(RECOVERED, 5.0) == []


def test_expired_key_on_reconnect_is_rejected() -> None:
    t = _tracker()
    _up(t)
    assert t.tick(3600.0) == []  # live for an hour: the key was good
    assert t.feed(RECOVERY, 3601.0) == [Ev.PUSH_DOWN]
    assert _rejected_attempt(t, 3602.0) == []
    assert _rejected_attempt(t, 3603.0) == []
    assert _rejected_attempt(t, 3604.0) == [Ev.KEY_REJECTED]
    assert t.phase is Phase.GONE


@pytest.mark.parametrize(
    ("up_for", "third_refusal"),
    [(9.9, [Ev.KEY_REJECTED]), (10.0, [])],
    ids=["short-up-keeps-count", "stable-up-resets"],
)
def test_refusal_count_resets_only_after_stable(up_for: float, third_refusal: list[Ev]) -> None:
    t = _tracker()
    _up(t)
    assert t.feed(RECOVERY, 2.0) == [Ev.PUSH_DOWN]
    assert _rejected_attempt(t, 3.0) == []
    assert _rejected_attempt(t, 4.0) == []
    # The server accepts the publish again, then drops it.
    assert t.feed(RECOVERED, 5.0) == [Ev.PUSH_UP]
    assert t.tick(5.0 + up_for) == []
    assert t.feed(RECOVERY, 5.0 + up_for + 0.1) == [Ev.PUSH_DOWN]
    assert _rejected_attempt(t, 5.0 + up_for + 0.2) == third_refusal


def test_no_tcp_connect_within_timeout_is_unreachable() -> None:
    t = _tracker()
    assert t.tick(19.9) == []
    assert t.tick(20.0) == [Ev.UNREACHABLE]
    assert t.last_failure == "the server did not answer"
    assert t.tick(40.0) == []


def test_restart_before_up_restarts_the_connect_timeout() -> None:
    t = _tracker()
    t.restarted(15.0)
    assert t.tick(20.0) == []
    assert t.tick(34.9) == []
    assert t.tick(35.0) == [Ev.UNREACHABLE]


def test_restart_forgets_a_pending_tcp_connect() -> None:
    t = _tracker()
    assert t.feed(TCP_OK, 0.0) == []
    t.restarted(0.5)
    # The old process's connection must not make the new one count as up.
    assert t.tick(2.0) == []
    assert t.phase is Phase.CONNECTING


def test_restart_while_up_comes_back_up() -> None:
    t = _tracker()
    _up(t)
    assert t.restarted(30.0) == [Ev.PUSH_DOWN]
    assert t.reconnects == 1
    assert t.phase is Phase.DOWN
    assert t.feed(TCP_OK, 31.0) == []
    assert t.tick(32.0) == [Ev.PUSH_UP]


def test_restart_while_up_reports_down_before_up_again() -> None:
    t = _tracker()
    events = [*t.feed(TCP_OK, 0.0), *t.tick(1.0)]
    events += t.restarted(30.0)
    events += [*t.tick(30.0), *t.feed(TCP_OK, 33.0), *t.tick(34.0)]
    # Whatever reports it, up and down must alternate.
    assert events == [Ev.PUSH_UP, Ev.PUSH_DOWN, Ev.PUSH_UP]


def test_slow_refusal_is_still_a_refusal() -> None:
    t = _tracker()
    events: list[Ev] = []
    for i in range(3):
        start = 10.0 * i
        events += t.feed(TCP_OK, start)
        events += t.tick(start + 1.2)  # the supervisor ticks while the handshake runs
        events += t.feed(EIO, start + 1.5)
    assert Ev.KEY_REJECTED in events


# -- up from what the server acknowledged (the kernel's TCP counters) ------------------


def _by_acks() -> PushTracker:
    return PushTracker(0.0, tries=3, settle=1.0, stable=10.0, connect_timeout=20.0, by_acks=True)


@pytest.mark.parametrize(
    ("acks", "up_at"),
    [
        # Handshake, connect and publish only (the server has not accepted it): not up.
        ([(0.25, 3_500), (0.5, 4_200), (5.0, 4_200)], None),
        # Media acknowledged: up at once, however long the settle time would be.
        ([(0.25, 3_500), (0.5, 40_000)], 0.5),
        # No connection to read yet, then media.
        ([(0.25, None), (0.5, None), (0.75, 100_000)], 0.75),
    ],
)
def test_up_once_media_is_acknowledged(
    acks: list[tuple[float, int | None]], up_at: float | None
) -> None:
    t = _by_acks()
    got = None
    for at, acked in acks:
        if t.acknowledged(acked, at) == [Ev.PUSH_UP]:
            got = at
    assert got == up_at


def test_by_acks_a_tcp_connect_alone_never_shows_live() -> None:
    # A port that answers TCP but never takes the stream (not RTMP, or a publish that
    # hangs): no LIVE from the connect and the settle time alone.
    t = _by_acks()
    assert t.feed(TCP_OK, 0.0) == []
    assert t.tick(1.5) == []
    assert t.tick(10.0) == []
    assert t.phase is Phase.CONNECTING


def test_by_acks_up_even_when_ffmpeg_logs_no_connect_line() -> None:
    # ffmpeg leaves out "Successfully connected" when the connect completes at once.
    t = _by_acks()
    assert t.acknowledged(64_000, 0.3) == [Ev.PUSH_UP]
    assert t.tick(25.0) == []  # and never "the server did not answer"


def test_by_acks_down_then_up_again_only_on_new_media() -> None:
    t = _by_acks()
    assert t.acknowledged(500_000, 1.0) == [Ev.PUSH_UP]
    assert t.acknowledged(600_000, 2.0) == []
    assert t.stalled() == [Ev.PUSH_DOWN]  # a dead link: the same connection, no new acks
    assert t.acknowledged(600_000, 3.0) == []  # still the old bytes: not up
    assert t.acknowledged(610_000, 4.0) == []  # a trickle is not media flowing again
    assert t.acknowledged(650_000, 5.0) == [Ev.PUSH_UP]
    # ffmpeg restarted: a new connection counts from zero.
    assert t.restarted(6.0) == [Ev.PUSH_DOWN]
    assert t.acknowledged(20_000, 6.5) == []
    assert t.acknowledged(40_000, 7.0) == [Ev.PUSH_UP]
