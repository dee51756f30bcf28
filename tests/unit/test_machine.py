"""kit.machine: the whole behaviour as one table, checked row by row."""

from __future__ import annotations

import itertools

import pytest

from kit.machine import Act, Ev, Failed, Failure, State, Status, advice, step

S = State
IDLE, CHECKING, COUNTDOWN = S.IDLE, S.CHECKING, S.COUNTDOWN
CONNECTING, LIVE, RECONNECTING, STOPPING = S.CONNECTING, S.LIVE, S.RECONNECTING, S.STOPPING

# Spelt out here rather than imported, so a state dropped from the module's
# sets shows up as a failing row instead of silently shrinking the table.
ERRORS = (
    S.KEY_REJECTED,
    S.SERVER_UNREACHABLE,
    S.CHECK_FAILED,
    S.CAMERA_FAILED,
    S.MICROPHONE_FAILED,
    S.PIPELINE_FAILED,
)
ON_AIR = (CONNECTING, LIVE, RECONNECTING)

Row = tuple[State, Ev, State, tuple[Act, ...]]

TABLE: list[Row] = [
    *[(s, ev, CHECKING, (Act.RUN_CHECKS,)) for s in (IDLE, *ERRORS) for ev in (Ev.PRESS, Ev.START)],
    (CHECKING, Ev.PRESS, IDLE, (Act.CANCEL_CHECKS,)),
    (CHECKING, Ev.STOP, IDLE, (Act.CANCEL_CHECKS,)),
    (CHECKING, Ev.CHECKS_PASSED, COUNTDOWN, (Act.START_COUNTDOWN,)),
    (COUNTDOWN, Ev.PRESS, IDLE, (Act.CANCEL_COUNTDOWN,)),
    (COUNTDOWN, Ev.STOP, IDLE, (Act.CANCEL_COUNTDOWN,)),
    (COUNTDOWN, Ev.COUNTDOWN_DONE, CONNECTING, (Act.START_PIPELINE,)),
    # Its cause fixed (a new destination, a checklist that passes), an error clears.
    *[(s, Ev.FIXED, IDLE, ()) for s in (S.KEY_REJECTED, S.SERVER_UNREACHABLE, S.CHECK_FAILED)],
    *[(s, Ev.PRESS, s, (Act.ADD_MARKER,)) for s in ON_AIR],
    *[(s, Ev.MARKER, s, (Act.ADD_MARKER,)) for s in ON_AIR],
    *[(s, Ev.HOLD, STOPPING, (Act.STOP_PIPELINE,)) for s in ON_AIR],
    *[(s, Ev.STOP, STOPPING, (Act.STOP_PIPELINE,)) for s in ON_AIR],
    (CONNECTING, Ev.PUSH_UP, LIVE, ()),
    (RECONNECTING, Ev.PUSH_UP, LIVE, ()),
    (LIVE, Ev.PUSH_DOWN, RECONNECTING, ()),
    (CONNECTING, Ev.UNREACHABLE, S.SERVER_UNREACHABLE, (Act.STOP_PIPELINE,)),
    *[(s, Ev.KEY_REJECTED, S.KEY_REJECTED, (Act.STOP_PIPELINE,)) for s in ON_AIR],
    *[(s, Ev.PIPELINE_STOPPED, S.PIPELINE_FAILED, ()) for s in ON_AIR],
    (STOPPING, Ev.PIPELINE_STOPPED, IDLE, ()),
    *[(s, Ev.STOP, IDLE, ()) for s in ERRORS],
    (IDLE, Ev.LONG_HOLD, IDLE, (Act.OPEN_HOTSPOT,)),
]
LISTED = {(s, ev) for s, ev, _, _ in TABLE}


def _id(row: Row) -> str:
    return f"{row[0].value}+{row[1].value}"


def test_table_has_no_duplicate_rows() -> None:
    assert len(LISTED) == len(TABLE)


@pytest.mark.parametrize("row", TABLE, ids=[_id(r) for r in TABLE])
def test_transition(row: Row) -> None:
    state, event, to, acts = row
    t = step(Status(state), event)
    assert (t.status.state, t.actions) == (to, acts)


UNLISTED = [(s, ev) for s, ev in itertools.product(State, Ev) if (s, ev) not in LISTED]


@pytest.mark.parametrize(
    ("state", "event"), UNLISTED, ids=[f"{s.value}+{e.value}" for s, e in UNLISTED]
)
def test_event_not_in_table_is_ignored(state: State, event: Ev) -> None:
    # A message set on the status must survive an ignored event unchanged.
    before = Status(state, "earlier message")
    t = step(before, event)
    assert t.status == before
    assert t.actions == ()


@pytest.mark.parametrize(
    ("state", "event"),
    [(STOPPING, Ev.PRESS), (IDLE, Ev.PUSH_UP), (IDLE, Ev.MARKER), (IDLE, Ev.HOLD),
     (LIVE, Ev.START), (COUNTDOWN, Ev.MARKER), (CHECKING, Ev.COUNTDOWN_DONE)],
    ids=lambda v: v.value,
)  # fmt: skip
def test_named_ignored_events(state: State, event: Ev) -> None:
    # Guards the list above against the table: these must be unlisted rows.
    assert (state, event) not in LISTED
    t = step(Status(state), event)
    assert (t.status, t.actions) == (Status(state), ())


def test_check_failure_in_checking_keeps_message() -> None:
    t = step(Status(CHECKING), Failed(Failure.CHECK, "disk almost full"))
    assert t.status == Status(S.CHECK_FAILED, "disk almost full")
    assert t.actions == ()


@pytest.mark.parametrize("state", [s for s in State if s is not CHECKING], ids=lambda s: s.value)
def test_check_failure_outside_checking_is_ignored(state: State) -> None:
    before = Status(state)
    t = step(before, Failed(Failure.CHECK, "late check result"))
    assert (t.status, t.actions) == (before, ())


RUNTIME_FAILURES = [
    (Failure.CAMERA, S.CAMERA_FAILED),
    (Failure.MICROPHONE, S.MICROPHONE_FAILED),
    (Failure.PIPELINE, S.PIPELINE_FAILED),
]


@pytest.mark.parametrize("state", ON_AIR, ids=lambda s: s.value)
@pytest.mark.parametrize(
    ("what", "to"), RUNTIME_FAILURES, ids=[w.value for w, _ in RUNTIME_FAILURES]
)
def test_runtime_failure_on_air_stops_pipeline(state: State, what: Failure, to: State) -> None:
    t = step(Status(state), Failed(what, "device gone"))
    assert t.status == Status(to, "device gone")
    assert t.actions == (Act.STOP_PIPELINE,)


@pytest.mark.parametrize("state", [IDLE, STOPPING, S.KEY_REJECTED], ids=lambda s: s.value)
@pytest.mark.parametrize("what", [w for w, _ in RUNTIME_FAILURES], ids=lambda w: w.value)
def test_runtime_failure_off_air_is_ignored(state: State, what: Failure) -> None:
    before = Status(state)
    t = step(before, Failed(what, "device gone"))
    assert (t.status, t.actions) == (before, ())


# What each error's advice must tell the creator to do.
ADVICE_WORDS = {
    S.KEY_REJECTED: "new key",
    S.SERVER_UNREACHABLE: "server URL",
    S.CHECK_FAILED: "press again",
    S.CAMERA_FAILED: "cable",
    S.MICROPHONE_FAILED: "plug it in",
    S.PIPELINE_FAILED: "restart",
}


@pytest.mark.parametrize("state", ERRORS, ids=lambda s: s.value)
def test_error_state_has_advice(state: State) -> None:
    assert ADVICE_WORDS[state].lower() in advice(Status(state)).lower()


@pytest.mark.parametrize("state", [s for s in State if s not in ERRORS], ids=lambda s: s.value)
def test_no_advice_when_all_is_well(state: State) -> None:
    assert advice(Status(state, "stale")) == ""


@pytest.mark.parametrize(
    "message", ["Camera unplugged.", "Camera unplugged"], ids=["dot", "no-dot"]
)
def test_advice_puts_failure_message_before_advice(message: str) -> None:
    t = step(Status(LIVE), Failed(Failure.CAMERA, message))
    text = advice(t.status)
    # One sentence after the other, whether or not the message ended its own.
    assert text.startswith("Camera unplugged. The camera")
    assert "cable" in text


def test_error_reached_by_event_carries_advice_once() -> None:
    t = step(Status(LIVE), Ev.KEY_REJECTED)
    text = advice(t.status)
    assert "new key" in text
    # The status message already is the advice: it must not be repeated.
    assert text.count("new key") == 1


@pytest.mark.parametrize("state", ERRORS, ids=lambda s: s.value)
def test_press_in_error_state_retries(state: State) -> None:
    t = step(Status(state, "what went wrong"), Ev.PRESS)
    assert t.status == Status(CHECKING)
    assert t.actions == (Act.RUN_CHECKS,)


@pytest.mark.parametrize("state", ERRORS, ids=lambda s: s.value)
def test_stop_dismisses_error(state: State) -> None:
    t = step(Status(state, "what went wrong"), Ev.STOP)
    assert t.status == Status(IDLE)
    assert t.actions == ()


def test_happy_path() -> None:
    script: list[tuple[Ev, State, tuple[Act, ...]]] = [
        (Ev.PRESS, CHECKING, (Act.RUN_CHECKS,)),
        (Ev.CHECKS_PASSED, COUNTDOWN, (Act.START_COUNTDOWN,)),
        (Ev.COUNTDOWN_DONE, CONNECTING, (Act.START_PIPELINE,)),
        (Ev.PUSH_UP, LIVE, ()),
        (Ev.PRESS, LIVE, (Act.ADD_MARKER,)),
        (Ev.HOLD, STOPPING, (Act.STOP_PIPELINE,)),
        (Ev.PIPELINE_STOPPED, IDLE, ()),
    ]
    status = Status()
    assert status.state is IDLE
    for event, to, acts in script:
        t = step(status, event)
        assert (t.status.state, t.actions) == (to, acts), event
        status = t.status
    assert status == Status(IDLE)
