"""The kit's state machine: states, events, transitions. Pure: no I/O, no threads, no clock.

``step(state, event)`` returns the next state and the actions the conductor
must carry out. Every input (button, page, CLI, the ffmpeg supervisor, timers)
arrives as an event, so the whole behaviour is one table, tested as a table.
The ring light and status LED are not actions: they follow from the state
(see ``kit.hw.lights``), so they can never disagree with it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class State(enum.Enum):
    IDLE = "idle"
    CHECKING = "checking"
    COUNTDOWN = "countdown"
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    STOPPING = "stopping"
    # Error states: each one tells the creator what to do next.
    KEY_REJECTED = "key_rejected"
    SERVER_UNREACHABLE = "server_unreachable"
    CHECK_FAILED = "check_failed"
    CAMERA_FAILED = "camera_failed"
    MICROPHONE_FAILED = "microphone_failed"
    PIPELINE_FAILED = "pipeline_failed"


ERROR_STATES = frozenset(
    {
        State.KEY_REJECTED,
        State.SERVER_UNREACHABLE,
        State.CHECK_FAILED,
        State.CAMERA_FAILED,
        State.MICROPHONE_FAILED,
        State.PIPELINE_FAILED,
    }
)
# The pipeline (ffmpeg, recording) runs in these states.
ON_AIR_STATES = frozenset({State.CONNECTING, State.LIVE, State.RECONNECTING})
# Error states that clear by themselves once their cause is fixed (Ev.FIXED); the others
# stay, shown as the last attempt's outcome, until a press or a dismissal.
FIXABLE_STATES = frozenset({State.KEY_REJECTED, State.SERVER_UNREACHABLE, State.CHECK_FAILED})
# A go-live request is accepted from these states.
READY_STATES = frozenset({State.IDLE}) | ERROR_STATES

ADVICE = {
    State.KEY_REJECTED: "The server refused the stream key. Get a new key in the app and paste it.",
    State.SERVER_UNREACHABLE: "The stream server cannot be reached. Check the server URL "
    "and the Wi-Fi, then press again.",
    State.CHECK_FAILED: "A pre-flight check failed. Fix it, then press again.",
    State.CAMERA_FAILED: "The camera stopped working. Check its cable, then press again.",
    State.MICROPHONE_FAILED: "The microphone stopped working. Plug it in again, then press again.",
    State.PIPELINE_FAILED: "The video encoder keeps failing. Press again; if it persists, "
    "restart the kit.",
}


class Ev(enum.Enum):
    """Events without a payload."""

    PRESS = "press"  # short press of the button
    HOLD = "hold"  # button held 3 s
    LONG_HOLD = "long_hold"  # button held 10 s
    START = "start"  # go-live from the page or CLI (no countdown cancel semantics)
    STOP = "stop"  # end / cancel / dismiss from the page or CLI
    MARKER = "marker"  # highlight from the page or CLI
    CHECKS_PASSED = "checks_passed"
    COUNTDOWN_DONE = "countdown_done"
    PUSH_UP = "push_up"  # the server accepts the stream
    PUSH_DOWN = "push_down"  # the connection was lost; ffmpeg is reconnecting
    KEY_REJECTED = "key_rejected"
    UNREACHABLE = "unreachable"
    PIPELINE_STOPPED = "pipeline_stopped"
    # The network kept up with the stream, or stopped keeping up: no change of
    # state, but the page and the LED show it.
    NETWORK_CHANGED = "network_changed"
    # What an error state was about has been fixed (a new destination after a refused key
    # or an unreachable server; a checklist that passes after a failed check): the error
    # is history, the kit is ready again. The conductor decides when (Conductor.status).
    FIXED = "fixed"


class Failure(enum.Enum):
    CHECK = "check"
    CAMERA = "camera"
    MICROPHONE = "microphone"
    PIPELINE = "pipeline"


@dataclass(frozen=True)
class Failed:
    """Something failed: a pre-flight check, the camera, the mic or the encoder."""

    what: Failure
    message: str


Event = Ev | Failed


class Act(enum.Enum):
    RUN_CHECKS = "run_checks"
    CANCEL_CHECKS = "cancel_checks"
    START_COUNTDOWN = "start_countdown"
    CANCEL_COUNTDOWN = "cancel_countdown"
    START_PIPELINE = "start_pipeline"
    STOP_PIPELINE = "stop_pipeline"
    ADD_MARKER = "add_marker"
    OPEN_HOTSPOT = "open_hotspot"


@dataclass(frozen=True)
class Status:
    state: State = State.IDLE
    message: str = ""  # what went wrong, for error states


@dataclass(frozen=True)
class Transition:
    status: Status
    actions: tuple[Act, ...] = field(default=())


_FAILURE_STATE = {
    Failure.CHECK: State.CHECK_FAILED,
    Failure.CAMERA: State.CAMERA_FAILED,
    Failure.MICROPHONE: State.MICROPHONE_FAILED,
    Failure.PIPELINE: State.PIPELINE_FAILED,
}

# (state, event) -> (next state, actions). Anything not listed is ignored:
# the state stays and nothing happens (a press while stopping, say).
_TABLE: dict[tuple[State, Ev], tuple[State, tuple[Act, ...]]] = {}


def _on(states: frozenset[State] | State, event: Ev, to: State | None, *acts: Act) -> None:
    for s in states if isinstance(states, frozenset) else {states}:
        _TABLE[(s, event)] = (to if to is not None else s, acts)


for _ev in (Ev.PRESS, Ev.START):
    _on(READY_STATES, _ev, State.CHECKING, Act.RUN_CHECKS)
_on(State.CHECKING, Ev.PRESS, State.IDLE, Act.CANCEL_CHECKS)
_on(State.CHECKING, Ev.STOP, State.IDLE, Act.CANCEL_CHECKS)
_on(State.CHECKING, Ev.CHECKS_PASSED, State.COUNTDOWN, Act.START_COUNTDOWN)
_on(State.COUNTDOWN, Ev.PRESS, State.IDLE, Act.CANCEL_COUNTDOWN)
_on(State.COUNTDOWN, Ev.STOP, State.IDLE, Act.CANCEL_COUNTDOWN)
_on(State.COUNTDOWN, Ev.COUNTDOWN_DONE, State.CONNECTING, Act.START_PIPELINE)
# On air: a press or the page's button marks a highlight, a hold or stop ends.
_on(ON_AIR_STATES, Ev.PRESS, None, Act.ADD_MARKER)
_on(ON_AIR_STATES, Ev.MARKER, None, Act.ADD_MARKER)
_on(ON_AIR_STATES, Ev.HOLD, State.STOPPING, Act.STOP_PIPELINE)
_on(ON_AIR_STATES, Ev.STOP, State.STOPPING, Act.STOP_PIPELINE)
_on(State.CONNECTING, Ev.PUSH_UP, State.LIVE)
_on(State.RECONNECTING, Ev.PUSH_UP, State.LIVE)
_on(State.LIVE, Ev.PUSH_DOWN, State.RECONNECTING)
_on(State.CONNECTING, Ev.UNREACHABLE, State.SERVER_UNREACHABLE, Act.STOP_PIPELINE)
# An expired key is refused on a reconnect too: end rather than retry forever.
_on(ON_AIR_STATES, Ev.KEY_REJECTED, State.KEY_REJECTED, Act.STOP_PIPELINE)
# ffmpeg ended by itself while on air (the supervisor gave up restarting it).
_on(ON_AIR_STATES, Ev.PIPELINE_STOPPED, State.PIPELINE_FAILED)
_on(State.STOPPING, Ev.PIPELINE_STOPPED, State.IDLE)
# An error state is dismissed from the page; a press retries (see READY_STATES).
_on(ERROR_STATES, Ev.STOP, State.IDLE)
# Its cause fixed, an error clears by itself: Home never shows a stale error.
_on(FIXABLE_STATES, Ev.FIXED, State.IDLE)
# A 10 s hold when idle opens the kit's own Wi-Fi, so a phone can reach the page.
_on(State.IDLE, Ev.LONG_HOLD, None, Act.OPEN_HOTSPOT)


def step(status: Status, event: Event) -> Transition:
    state = status.state
    if isinstance(event, Failed):
        to = _FAILURE_STATE[event.what]
        if event.what is Failure.CHECK:
            if state is not State.CHECKING:
                return Transition(status)
            return Transition(Status(to, event.message))
        if state in ON_AIR_STATES:
            return Transition(Status(to, event.message), (Act.STOP_PIPELINE,))
        return Transition(status)
    entry = _TABLE.get((state, event))
    if entry is None:
        return Transition(status)
    to, acts = entry
    message = status.message if to is state else ""
    if to in ERROR_STATES and not message:
        message = ADVICE[to]
    return Transition(Status(to, message), acts)


def advice(status: Status) -> str:
    """What the creator should do now, in one sentence (empty when all is well)."""
    if status.state in ERROR_STATES:
        base = ADVICE[status.state]
        if status.message in ("", base):
            return base
        return f"{status.message.rstrip('.')}. {base}"
    return ""
