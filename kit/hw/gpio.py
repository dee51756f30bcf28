"""The button, the ring-light relay and the status LED, on gpiozero.

Pins come from a gpiozero pin factory: the default one on a Pi (lgpio on
Bookworm), ``MockFactory`` in simulation, so the same gpiozero ``Button``
handles a press either way. The relay is off at start and switched off on
close, whatever state the kit was in.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kit.config import GpioConfig
from kit.hw.lights import OFF, Pattern

log = logging.getLogger(__name__)

HOLD_SECONDS = 3.0
LONG_HOLD_SECONDS = 10.0
# gpiozero calls when_held every this many seconds while held; the handler
# measures how long, so one button gives both the 3 s and the 10 s hold.
HOLD_TICK_SECONDS = 0.5
BOUNCE_SECONDS = 0.03


class PatternPlayer:
    """Plays a light pattern on an output device in one long-lived thread."""

    def __init__(self, device: Any) -> None:
        self._device = device
        self._pattern: Pattern = OFF
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="led", daemon=True)
        self._thread.start()

    def show(self, pattern: Pattern) -> None:
        with self._changed:
            if pattern != self._pattern:
                self._pattern = pattern
                self._changed.notify()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        with self._changed:
            while not self._closed:
                pattern = self._pattern
                for on, seconds in pattern:
                    self._device.value = on
                    # A 0 s step holds until the pattern changes.
                    self._changed.wait(seconds if seconds > 0 else None)
                    if self._closed or self._pattern is not pattern:
                        break
            self._device.value = False


class Panel:
    """Button, relay and LED. ``on_press``/``on_hold`` are called from gpiozero's threads."""

    def __init__(
        self,
        cfg: GpioConfig,
        on_press: Callable[[], None],
        on_hold: Callable[[], None],
        pin_factory: Any = None,
        on_long_hold: Callable[[], None] | None = None,
    ) -> None:
        from gpiozero import LED, Button, OutputDevice

        self._on_press, self._on_hold = on_press, on_hold
        self._on_long_hold = on_long_hold
        self._held = False
        self._long_held = False
        self.button = Button(
            cfg.button,
            pull_up=True,
            bounce_time=BOUNCE_SECONDS,
            hold_time=HOLD_TICK_SECONDS,
            hold_repeat=True,
            pin_factory=pin_factory,
        )
        self.relay = OutputDevice(
            cfg.relay,
            active_high=cfg.relay_active_high,
            initial_value=False,
            pin_factory=pin_factory,
        )
        self.led = LED(cfg.led, pin_factory=pin_factory)
        self.button.when_pressed = self._pressed
        self.button.when_held = self._hold
        self.button.when_released = self._released
        self._player = PatternPlayer(self.led)

    def _pressed(self) -> None:
        self._held = self._long_held = False

    def _hold(self) -> None:
        # active_time counts from the press; held_time would count from the first tick.
        held_for = self.button.active_time or 0.0
        if not self._held and held_for >= HOLD_SECONDS - 0.05:
            self._held = True
            self._on_hold()
        if self._on_long_hold and not self._long_held and held_for >= LONG_HOLD_SECONDS - 0.05:
            self._long_held = True
            self._on_long_hold()

    def _released(self) -> None:
        # A press that became a hold is not also a short press.
        if not self._held:
            self._on_press()
        self._held = False

    def show(self, relay_on: bool, pattern: Pattern) -> None:
        if relay_on:
            self.relay.on()
        else:
            self.relay.off()
        self._player.show(pattern)

    def outputs(self) -> dict[str, bool]:
        return {"relay": bool(self.relay.value), "led": bool(self.led.value)}

    def simulate_press(self, hold: float = 0.15) -> None:
        """Drive the mock button pin low for ``hold`` seconds (simulation only)."""
        pin = self.button.pin
        if not hasattr(pin, "drive_low"):
            raise RuntimeError("presses can only be simulated on gpiozero's MockFactory pins")
        pin.drive_low()
        time.sleep(hold)
        pin.drive_high()

    def close(self) -> None:
        # The relay first: whatever fails below, the light must be off.
        try:
            self.relay.off()
            log.info("ring light off (relay reads %s)", "on" if self.relay.value else "off")
        finally:
            self._player.close()
            for dev in (self.button, self.led, self.relay):
                try:
                    dev.close()
                except Exception:  # closing must reach every device
                    log.exception("closing %s", dev)


def force_relay_off(cfg: GpioConfig, pin_factory: Any = None) -> None:
    """Claim the relay pin, drive it to off, release it. For after the daemon is gone."""
    from gpiozero import OutputDevice

    relay = OutputDevice(
        cfg.relay, active_high=cfg.relay_active_high, initial_value=False, pin_factory=pin_factory
    )
    try:
        relay.off()
    finally:
        relay.close()
