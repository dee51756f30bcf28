"""What the ring light and the status LED show in each state. Pure.

A pattern is a cycle of (on, seconds) steps. Each state has its own rhythm so
that a glance tells them apart: a slow heartbeat when idle, a fast flicker
while checking, one blink a second during the countdown, solid when live,
solid with short gaps while reconnecting, two blinks for a failed check and
three for a rejected key.
"""

from __future__ import annotations

from kit.machine import State

Pattern = tuple[tuple[bool, float], ...]

OFF: Pattern = ((False, 0.0),)
SOLID: Pattern = ((True, 0.0),)  # a single step of 0 s: hold it

PATTERNS: dict[State, Pattern] = {
    State.IDLE: ((True, 0.1), (False, 2.9)),
    State.CHECKING: ((True, 0.1), (False, 0.1)),
    State.COUNTDOWN: ((True, 0.5), (False, 0.5)),
    State.CONNECTING: ((True, 0.25), (False, 0.25)),
    State.LIVE: SOLID,
    State.RECONNECTING: ((True, 0.8), (False, 0.2)),
    State.STOPPING: ((True, 0.1), (False, 0.4)),
    State.CHECK_FAILED: ((True, 0.15), (False, 0.15), (True, 0.15), (False, 1.0)),
    State.SERVER_UNREACHABLE: ((True, 0.15), (False, 0.15), (True, 0.15), (False, 1.0)),
    State.KEY_REJECTED: ((True, 0.15), (False, 0.15)) * 2 + ((True, 0.15), (False, 1.0)),
    State.CAMERA_FAILED: ((True, 1.0), (False, 0.15), (True, 0.15), (False, 0.7)),
    State.MICROPHONE_FAILED: ((True, 1.0), (False, 0.15), (True, 0.15), (False, 0.7)),
    State.PIPELINE_FAILED: ((True, 1.0), (False, 0.15), (True, 0.15), (False, 0.7)),
}

# The ring light is on during the countdown (so the creator sees the framing)
# and for the whole broadcast, including while it reconnects (in the default
# "broadcast" mode; see ring_light).
# On from the pre-flight checks: the light check measures the picture that will go out.
RING_LIGHT_ON = frozenset(
    {State.CHECKING, State.COUNTDOWN, State.CONNECTING, State.LIVE, State.RECONNECTING}
)


# Live, but the network is falling behind the stream: solid with a quick
# double gap, so it reads as "live" first and "trouble" second.
LIVE_STRUGGLING: Pattern = ((True, 1.6), (False, 0.1), (True, 0.1), (False, 0.1))


# Live, but the recording has stopped (the disk is full, its folder gone): solid with
# one long gap, "live" first and "not recording" second.
LIVE_NOT_RECORDING: Pattern = ((True, 1.5), (False, 0.5))


def pattern(
    state: State, struggling: bool = False, no_camera: bool = False, not_recording: bool = False
) -> Pattern:
    """``no_camera``: the camera is missing or busy; idle, the LED says so as a failed
    camera does (long, short), rather than a heartbeat that reads as "ready".
    ``not_recording``: live while the recording has stopped."""
    if not_recording and state is State.LIVE:
        return LIVE_NOT_RECORDING
    if struggling and state is State.LIVE:
        return LIVE_STRUGGLING
    if no_camera and state is State.IDLE:
        return PATTERNS[State.CAMERA_FAILED]
    return PATTERNS[state]


def ring_light(state: State, mode: str, manual_on: bool) -> bool:
    """Whether the relay is on. ``mode`` is [light] mode: "broadcast" follows the state,
    "always" is on whatever the state, "manual" follows the page's switch (``manual_on``)."""
    if mode == "always":
        return True
    if mode == "manual":
        return manual_on
    return state in RING_LIGHT_ON
