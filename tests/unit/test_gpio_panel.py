"""The button, relay and LED on gpiozero's own MockFactory pins (the library's test pins)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from kit.config import GpioConfig
from kit.hw.gpio import Panel
from kit.hw.lights import OFF, SOLID


class Recorder:
    def __init__(self) -> None:
        self.presses = 0
        self.holds = 0
        self.held = threading.Event()

    def press(self) -> None:
        self.presses += 1

    def hold(self) -> None:
        self.holds += 1
        self.held.set()


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory()


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def panel(factory: MockFactory, rec: Recorder) -> Iterator[Panel]:
    p = Panel(GpioConfig(), rec.press, rec.hold, pin_factory=factory)
    yield p
    p.close()


def test_short_press_is_a_press_not_a_hold(
    factory: MockFactory, panel: Panel, rec: Recorder
) -> None:
    pin = factory.pin(17)
    pin.drive_low()
    time.sleep(0.1)
    pin.drive_high()
    time.sleep(0.05)
    assert (rec.presses, rec.holds) == (1, 0)


def test_three_second_hold_fires_while_held_and_is_not_also_a_press(
    factory: MockFactory, panel: Panel, rec: Recorder
) -> None:
    pin = factory.pin(17)
    pin.drive_low()
    assert not rec.held.wait(2.8), "a hold fired before 3 s"
    assert rec.held.wait(0.5), "no hold by 3.3 s"
    pin.drive_high()
    time.sleep(0.05)
    assert (rec.presses, rec.holds) == (0, 1)


def test_simulate_press_drives_the_real_button(panel: Panel, rec: Recorder) -> None:
    panel.simulate_press(0.1)
    time.sleep(0.05)
    assert rec.presses == 1


@pytest.mark.parametrize(("active_high", "on_level"), [(True, True), (False, False)])
def test_relay_follows_show_and_is_off_after_close(
    factory: MockFactory, rec: Recorder, active_high: bool, on_level: bool
) -> None:
    p = Panel(GpioConfig(relay_active_high=active_high), rec.press, rec.hold, pin_factory=factory)
    relay = factory.pin(27)
    assert relay.state == (not on_level), "relay must start off"
    p.show(True, SOLID)
    assert relay.state == on_level
    assert p.outputs()["relay"] is True
    p.close()
    assert relay.state == (not on_level), "relay left on after close"


def test_led_plays_the_pattern(factory: MockFactory, panel: Panel) -> None:
    led = factory.pin(22)
    led.clear_states()
    panel.show(False, ((True, 0.05), (False, 0.05)))
    time.sleep(0.5)
    panel.show(False, OFF)
    time.sleep(0.05)
    levels = [s.state for s in led.states]
    ons = sum(1 for a, b in itertools.pairwise(levels) if not a and b)
    assert 3 <= ons <= 6, levels
    assert led.state is False


def test_solid_holds_until_changed(factory: MockFactory, panel: Panel) -> None:
    led = factory.pin(22)
    panel.show(False, SOLID)
    time.sleep(0.3)
    assert led.state is True
    panel.show(False, OFF)
    time.sleep(0.05)
    assert led.state is False


@pytest.mark.parametrize(("active_high", "off_level"), [(True, False), (False, True)])
def test_force_relay_off(factory: MockFactory, active_high: bool, off_level: bool) -> None:
    from kit.hw.gpio import force_relay_off

    relay = factory.pin(27)
    relay.output_with_state(not off_level)  # left on by a killed daemon
    force_relay_off(GpioConfig(relay_active_high=active_high), pin_factory=factory)
    assert relay.state == off_level


def test_ten_second_hold_is_a_long_hold_after_the_three_second_one(factory: MockFactory) -> None:
    rec, long_holds = Recorder(), threading.Event()
    p = Panel(GpioConfig(), rec.press, rec.hold, pin_factory=factory, on_long_hold=long_holds.set)
    try:
        pin = factory.pin(17)
        pin.drive_low()
        assert rec.held.wait(3.3), "no 3 s hold"
        assert not long_holds.wait(6.4), "a long hold before 10 s"
        assert long_holds.wait(1.0), "no long hold by 10.5 s"
        pin.drive_high()
        time.sleep(0.05)
        assert (rec.presses, rec.holds) == (0, 1)  # one hold, counted once
    finally:
        p.close()
