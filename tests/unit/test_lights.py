"""kit.hw.lights: each state's blink pattern and whether the ring light is on."""

from __future__ import annotations

import itertools

import pytest

from kit.hw.lights import pattern, ring_light
from kit.machine import State

# A glance must tell these apart.
DISTINCT = [
    State.IDLE,
    State.COUNTDOWN,
    State.LIVE,
    State.RECONNECTING,
    State.CHECK_FAILED,
    State.KEY_REJECTED,
]
RING_ON = {State.CHECKING, State.COUNTDOWN, State.CONNECTING, State.LIVE, State.RECONNECTING}


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_every_state_has_a_valid_pattern(state: State) -> None:
    steps = pattern(state)
    assert steps, "an empty pattern would leave the LED in whatever state it was"
    for on, seconds in steps:
        assert isinstance(on, bool)
        assert seconds >= 0
    # A cycle of several steps must take time, or the blinker would spin.
    if len(steps) > 1:
        assert sum(s for _, s in steps) > 0


@pytest.mark.parametrize(
    ("a", "b"), list(itertools.combinations(DISTINCT, 2)), ids=lambda s: s.value
)
def test_patterns_tell_states_apart(a: State, b: State) -> None:
    assert pattern(a) != pattern(b)


def test_live_is_solid() -> None:
    assert pattern(State.LIVE) == ((True, 0.0),)


@pytest.mark.parametrize("manual_on", [False, True])
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_ring_light_in_broadcast_mode_follows_the_state_not_the_switch(
    state: State, manual_on: bool
) -> None:
    assert ring_light(state, "broadcast", manual_on) is (state in RING_ON)


@pytest.mark.parametrize("manual_on", [False, True])
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_ring_light_always_on_ignores_state_and_switch(state: State, manual_on: bool) -> None:
    assert ring_light(state, "always", manual_on) is True


@pytest.mark.parametrize("manual_on", [False, True])
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_ring_light_in_manual_mode_follows_only_the_switch(state: State, manual_on: bool) -> None:
    assert ring_light(state, "manual", manual_on) is manual_on


def test_the_light_modes_are_the_configs() -> None:
    from kit.config import LIGHT_MODES

    assert LIGHT_MODES == ("broadcast", "always", "manual")


def test_live_while_the_network_struggles_has_its_own_rhythm() -> None:
    from kit.hw.lights import LIVE_STRUGGLING, pattern
    from kit.machine import State

    assert pattern(State.LIVE, struggling=True) == LIVE_STRUGGLING
    assert LIVE_STRUGGLING not in [pattern(s) for s in State]
    # Only live shows it: reconnecting already says the network is the trouble.
    assert pattern(State.RECONNECTING, struggling=True) == pattern(State.RECONNECTING)


def test_the_light_mode_is_validated_like_the_other_keys() -> None:
    from kit.config import ConfigError, from_dict

    assert from_dict({}).light.mode == "broadcast"
    assert from_dict({"light": {"mode": "manual"}}).light.mode == "manual"
    with pytest.raises(ConfigError) as e:
        from_dict({"light": {"mode": "sometimes"}})
    assert e.value.problems[0].startswith("light.mode: must be one of broadcast, always, manual")
