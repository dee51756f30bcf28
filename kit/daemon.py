"""The conductor: button, page and ffmpeg events -> state machine -> lights and pipeline.

Every input becomes an event on one queue, handled by one thread, so the state
machine never sees two things at once. The web layer talks to the conductor
(``submit``, ``status``), never to a pin or a process. The broadcast itself (its
folder and record, its ffmpeg, its figures) is a kit.broadcast.Broadcast, which the
conductor starts, stops and ends as the state machine says.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kit import checks, machine, retention, sdnotify
from kit.broadcast import Broadcast
from kit.config import Config
from kit.hw import health, lights
from kit.machine import Act, Ev, Event, Failed, Failure, State, Status
from kit.media import mic_check
from kit.media.audio import AlsaMicrophone, AudioSource
from kit.media.camera import CameraSource
from kit.messages import Message, define
from kit.net import checks as net_checks
from kit.net.wifi import WifiError
from kit.said import ENCODER, SEE_LOG, explain
from kit.store import Store

log = logging.getLogger(__name__)

COUNTDOWN_SECONDS = 3.0
# The status's sentences with an id and values (kit.messages): the page shows them in the
# visitor's language from status["i18n"], kit status and the API read the English. The
# broadcast's warnings are kit.broadcast's.
HOTSPOT_OPEN = define("status.hotspot_open", "open: join it and visit {url}")
HOTSPOT_NONE = define("status.hotspot_none", "no hotspot here (simulation)")
HOTSPOT_FAILED = define("status.hotspot_failed", "could not open: {reason}")
ADVICE = {state: define(f"advice.{state.value}", text) for state, text in machine.ADVICE.items()}
CHECKS_CRASHED = define("check.internal.crashed", "Checks failed: {error}")
HEALTH_EVERY_S = 5.0
# How often the recordings are made room for (kit.retention), idle or on air.
RETENTION_EVERY_S = 30.0
# While the camera is missing or busy, it is looked for again this often.
CAMERA_RETRY_S = 15.0


class Lights(Protocol):
    def show(self, relay_on: bool, pattern: lights.Pattern) -> None: ...

    def outputs(self) -> dict[str, bool]:
        """What the pins actually say now (read back, not remembered)."""
        ...


@dataclass
class _Timer:
    deadline: float
    event: Event


@dataclass
class Parts:
    """What the conductor drives, built by the composition root."""

    config: Config
    camera: CameraSource
    audio: AudioSource
    lights: Lights
    store: Store
    encoder: str
    ffmpeg_bin: str = "ffmpeg"
    checks: list[Callable[[checks.Context], checks.Result]] = field(
        default_factory=lambda: [
            *checks.CHECKS,
            health.check_temperature,
            health.check_power,
            mic_check.check_level,
            *net_checks.NET_CHECKS,
        ]
    )
    # The settings in force: the config file with the page's edits on top.
    # Read at each use, so an edit applies to the next broadcast.
    settings: Callable[[], Config] | None = None
    # Opens the kit's own Wi-Fi and returns the page's address there (raises
    # with a message that says why not); None where there is no hotspot
    # (simulation).
    open_hotspot: Callable[[], str] | None = None

    def current(self) -> Config:
        return self.settings() if self.settings is not None else self.config


class Conductor:
    def __init__(self, parts: Parts, clock: Callable[[], float] = time.monotonic) -> None:
        self._p = parts
        self._clock = clock
        self._events: queue.Queue[tuple[Event, object]] = queue.Queue()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._status = Status()
        self._since = clock()
        self._version = 0
        self._timer: _Timer | None = None
        self._check_generation = 0
        self._last_checks: list[checks.Result] = []
        self._broadcast: Broadcast | None = None
        self._last_session: dict[str, Any] = {}
        self._health_cache: tuple[float, dict[str, Any]] | None = None
        self._hotspot = ""
        self._hotspot_said: Message | None = None
        # The page's ring-light switch: runtime only, acts in [light] mode = "manual".
        self._manual_light = False
        self._lights_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="conductor", daemon=True)
        # What is wrong with the camera (missing, busy...), found at start or by a check,
        # until a new attempt finds it fine; woken to look again.
        self._camera_problem: Message | None = None
        self._camera_look = threading.Event()
        # The destination the last attempt used (server, key), so that an error about it
        # clears once another one is saved (_recheck); a FIXED event not yet handled.
        self._tried: tuple[str, Any] | None = None
        self._fix_pending = False
        self._show_lights()

    # -- inputs (any thread) -----------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        threading.Thread(target=self._camera_watch, name="camera-watch", daemon=True).start()
        threading.Thread(target=self._retention, name="retention", daemon=True).start()

    def make_room(self) -> list[int]:
        """Keep [recording] min_free_mb free by removing the oldest finished recordings
        (kit.retention), unless [recording] retention is off; never the one on air."""
        rec = self._p.current().recording
        if not rec.retention:
            return []
        broadcast = self._broadcast
        current = broadcast.id if broadcast is not None else None
        try:
            return retention.make_room(
                self._p.store, rec.dir, rec.min_free_mb * 2**20, current=current
            )
        except OSError:  # no recordings folder (a USB disk unplugged): nothing to remove
            return []

    def _retention(self) -> None:
        while not self._stopping.wait(RETENTION_EVERY_S):
            self.make_room()

    def submit(self, event: Event) -> None:
        self._events.put((event, None))

    def press(self) -> None:
        self.submit(Ev.PRESS)

    def hold(self) -> None:
        self.submit(Ev.HOLD)

    def long_hold(self) -> None:
        self.submit(Ev.LONG_HOLD)

    def set_light(self, on: bool | None = None) -> None:
        """The page's ring-light switch (``on``; it acts only in manual mode), or, with
        None, show a changed [light] mode now."""
        if on is not None:
            self._manual_light = on
        self._show_lights()
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    def microphone_device(self) -> str | None:
        """The ALSA device the broadcast captures from; None for the simulated tone.
        Raises MicrophoneError when no USB microphone is plugged in."""
        audio = self._p.audio
        return audio.device() if isinstance(audio, AlsaMicrophone) else None

    def microphone_in_use(self) -> bool:
        """Whether the microphone is taken now, so that the page's meter must not open it:
        ffmpeg holds it from the countdown's end to the broadcast's end, and the checks
        measure it themselves (every state but the ready ones, or a broadcast not ended)."""
        with self._lock:
            return self._status.state not in machine.READY_STATES or self._broadcast is not None

    @staticmethod
    def accepts(status: Status, event: Event) -> bool:
        """Whether the state machine takes ``event`` in ``status``: it changes the state
        or does something. Pure: the table of kit.machine, asked, not copied."""
        t = machine.step(status, event)
        return t.status.state is not status.state or bool(t.actions)

    def request(self, event: Event) -> tuple[bool, str]:
        """Offer an event from the page or the CLI: (whether the state machine takes it in
        the current state, that state's name). A taken event is queued; one that is not
        changes nothing, and the caller says why from the state. (The state can move on
        before the queued event is handled; the machine then decides again, as for a
        press.)"""
        with self._lock:
            status = self._status
        accepted = self.accepts(status, event)
        if accepted:
            self.submit(event)
        return accepted, status.state.value

    def test_destination(self, server: str, key: str = "") -> checks.Result:
        """The destination page's Test connection: the pre-flight's ingest probe on these
        values (an empty key: the saved one), without saving them or going live."""
        import dataclasses

        from kit.secret import Secret

        cfg = self._p.current()
        stream = dataclasses.replace(
            cfg.stream, server=server, key=Secret(key) if key else cfg.stream.key
        )
        ctx = checks.Context(
            dataclasses.replace(cfg, stream=stream),
            camera_ok=lambda: True,
            microphone_ok=lambda: True,
        )
        return net_checks.check_ingest(ctx)

    # -- outputs (any thread) ----------------------------------------------------

    def status(self) -> dict[str, Any]:
        with self._lock:
            st, since, broadcast = self._status, self._since, self._broadcast
            version = self._version
            results = list(self._last_checks)
            last_session = dict(self._last_session)
            hotspot_said = self._hotspot_said
        last_checks = [r.as_dict() for r in results]
        now = self._clock()
        out: dict[str, Any] = {
            "state": st.state.value,
            "message": st.message,
            "advice": machine.advice(st),
            "since_s": round(now - since, 1),
            "version": version,
            "title": self._p.current().broadcast.title,
            "checks": last_checks,
            "hotspot": self._hotspot,
            "i18n": _i18n(st, results, hotspot_said),
            "light": {
                **self._p.lights.outputs(),
                "mode": self._p.current().light.mode,
                "manual_on": self._manual_light,
            },
            "health": self._health(),
            # What the kit needs before a broadcast can work: the page asks for it
            # instead of offering a Go live that can only fail.
            "missing": [] if self._has_destination() else ["destination"],
        }
        if st.state is State.COUNTDOWN:
            out["countdown_s"] = max(0.0, round(COUNTDOWN_SECONDS - (now - since), 1))
        if broadcast is not None:
            on_air = broadcast.status(now)
            out["i18n"] |= on_air.pop("i18n", {})
            out |= on_air
        elif last_session:
            out["last_session"] = last_session
        camera = self._camera_problem
        out["camera"] = {"ok": camera is None, "problem": str(camera) if camera else ""}
        if camera is not None:
            out["warnings"] = [str(camera), *out.get("warnings", [])]
            out["i18n"]["warnings"] = [camera.as_dict(), *out["i18n"].get("warnings", [])]
        return out

    def _health(self) -> dict[str, Any]:
        """The kit's health, read at most every few seconds however often status is asked."""
        now = self._clock()
        with self._lock:
            cached = self._health_cache
        if cached is not None and now - cached[0] < HEALTH_EVERY_S:
            return cached[1]
        snap = health.snapshot(self._p.current().recording.dir).as_dict()
        with self._lock:
            self._health_cache = (now, snap)
            if self._broadcast is not None:  # the session report's peak temperature
                self._broadcast.sample_temperature(snap.get("temperature_c"))
        return snap

    def wait_for_change(self, version: int, timeout: float) -> int:
        """Block until the status version differs from ``version`` (for live updates)."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != version, timeout)
            return self._version

    def run_checks(self) -> list[checks.Result]:
        results = checks.run(self._check_context(), self._p.checks)
        with self._lock:
            st = self._status
        if st.state is State.CHECK_FAILED and checks.first_failure(results) is None:
            self._fix(st)  # the checklist passes now: the failed check is history
        return results

    # -- errors that are history ---------------------------------------------------

    def _destination(self) -> tuple[str, Any]:
        stream = self._p.current().stream
        return (stream.server, stream.key)

    def _has_destination(self) -> bool:
        server, key = self._destination()
        return bool(server and key)

    def settings_changed(self, _cfg: Any = None) -> None:
        """The page saved settings (kit.settings.Settings.on_change, wired by the
        composition root): an error about the destination that was just replaced clears,
        before the saving request's answer, so the page it redirects to says so."""
        self._recheck()

    def _recheck(self) -> None:
        """An error about the destination clears once another destination is saved (a
        refused key, an unreachable server, a failed check of the server), so Home never
        shows an error whose cause is fixed. The other errors stay, shown as the last
        attempt's, until a press, a dismissal or a checklist that passes. Asked when the
        settings change, and when an attempt ends in such an error (the destination may
        have been changed while it ran)."""
        with self._lock:
            st, tried, results = self._status, self._tried, self._last_checks
        if st.state not in machine.FIXABLE_STATES or tried is None:
            return
        if st.state is State.CHECK_FAILED:
            failed = checks.first_failure(results)
            if failed is None or failed.id not in ("stream", "dns", "ingest"):
                return
        if self._destination() != tried:
            self._fix(st)

    def _fix(self, was: Status) -> None:
        """Submit Ev.FIXED for the state ``was`` (once), and wait a moment for it, so the
        status asked for next already says so."""
        with self._lock:
            if self._status is not was or self._fix_pending:
                return
            self._fix_pending = True
            version = self._version
        self.submit(Ev.FIXED)
        if threading.current_thread() is not self._thread:
            self.wait_for_change(version, 1.0)

    # -- lifecycle ---------------------------------------------------------------

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop the broadcast in order (last segment finished), then lights off."""
        self._stopping.set()
        self._camera_look.set()
        self._events.put((Ev.STOP, "shutdown"))
        self._thread.join(timeout)
        broadcast = self._broadcast
        if broadcast is not None:
            broadcast.stop(wait=True)
            self._end_broadcast(broadcast, "stopped")
        self._p.lights.show(False, lights.OFF)

    # -- the conductor thread ----------------------------------------------------

    def _loop(self) -> None:
        watchdog = sdnotify.watchdog_interval()
        next_ping = self._clock()
        while True:
            now = self._clock()
            deadlines = [
                d for d in (self._timer and self._timer.deadline, watchdog and next_ping) if d
            ]
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            try:
                event, origin = self._events.get(timeout=timeout)
            except queue.Empty:
                event, origin = None, None
            now = self._clock()
            if watchdog and now >= next_ping:
                sdnotify.notify("WATCHDOG=1")
                next_ping = now + watchdog
            if self._timer is not None and now >= self._timer.deadline:
                timed, self._timer = self._timer.event, None
                self._handle(timed)
            if event is None:
                continue
            detail = ""
            if isinstance(origin, Broadcast):
                if not self._from_current(origin, event):
                    continue
                if event in (Ev.KEY_REJECTED, Ev.UNREACHABLE):
                    detail = str(origin.supervisor.stats()["last_error"])
            if isinstance(origin, int) and origin != self._check_generation:
                continue  # result of a check run that was cancelled
            self._handle(event, detail)
            # On shutdown, an on-air session first waits for the supervisor's
            # final event (the last segment finished), then the loop ends.
            if self._stopping.is_set() and self._broadcast is None:
                return

    def _from_current(self, broadcast: Broadcast, event: Event) -> bool:
        if broadcast is not self._broadcast:
            return False
        if event is Ev.PIPELINE_STOPPED or isinstance(event, Failed):
            end = event.what.value if isinstance(event, Failed) else self._status.state.value
            self._end_broadcast(broadcast, "stopped" if end == "stopping" else end)
        return True

    def _handle(self, event: Event, detail: str = "") -> None:
        """Apply one event. ``detail`` is what the server or ffmpeg said, for error states."""
        before = self._status
        t = machine.step(before, event)
        with self._changed:
            if event is Ev.FIXED:
                self._fix_pending = False
            self._status = t.status
            if detail and t.status.state in machine.ERROR_STATES:
                self._status = Status(t.status.state, detail)
            if t.status.state is not before.state:
                self._since = self._clock()
            self._version += 1
            self._changed.notify_all()
        if t.status.state is not before.state and t.status.state in machine.FIXABLE_STATES:
            self._recheck()
        if t.status.state is not before.state:
            log.info(
                "%s -> %s (%s)%s",
                before.state.value,
                t.status.state.value,
                getattr(event, "value", event),
                f": {self._status.message}" if self._status.message else "",
            )
        for act in t.actions:
            self._do(act)
        self._show_lights()

    def _show_lights(self) -> None:
        state = self._status.state
        broadcast = self._broadcast
        stats = broadcast.supervisor.stats() if broadcast is not None else {}
        struggling = stats.get("network") == "behind"
        not_recording = stats.get("recording_state", "ok") != "ok"
        with self._lights_lock:
            relay = lights.ring_light(state, self._p.current().light.mode, self._manual_light)
            no_camera = self._camera_problem is not None
            pattern = lights.pattern(state, struggling, no_camera, not_recording)
            self._p.lights.show(relay, pattern)

    def _camera_watch(self) -> None:
        """Look at the camera at start, then again every CAMERA_RETRY_S while something is
        wrong with it (and only while idle: a broadcast or the checks use it themselves),
        so the page and the LED say what to check and clear by themselves once it is fixed."""
        available = self._p.camera.available
        problem_of = getattr(self._p.camera, "problem", None)
        while not self._stopping.is_set():
            if self._status.state in (State.IDLE, State.CHECK_FAILED):
                said = None
                if not available():
                    said = (problem_of() if problem_of else None) or checks.CAMERA_MISSING()
                self._set_camera_problem(said)
            wait = CAMERA_RETRY_S if self._camera_problem is not None else None
            self._camera_look.wait(wait)
            self._camera_look.clear()

    def _set_camera_problem(self, said: Message | None) -> None:
        if said == self._camera_problem:
            return
        if said is not None:
            log.warning("camera: %s", said)
        else:
            log.info("camera: found and working")
        with self._changed:
            self._camera_problem = said
            self._version += 1
            self._changed.notify_all()
        self._show_lights()

    def _do(self, act: Act) -> None:
        if act is Act.RUN_CHECKS:
            self._check_generation += 1
            gen = self._check_generation
            threading.Thread(
                target=self._checks_worker, args=(gen,), name="checks", daemon=True
            ).start()
        elif act is Act.CANCEL_CHECKS:
            self._check_generation += 1
        elif act is Act.START_COUNTDOWN:
            self._timer = _Timer(self._clock() + COUNTDOWN_SECONDS, Ev.COUNTDOWN_DONE)
        elif act is Act.CANCEL_COUNTDOWN:
            self._timer = None
        elif act is Act.START_PIPELINE:
            self._start_broadcast()
        elif act is Act.STOP_PIPELINE:
            if self._broadcast is not None:
                self._broadcast.stop()
        elif act is Act.ADD_MARKER and self._broadcast is not None:
            self._broadcast.add_marker()
        elif act is Act.OPEN_HOTSPOT:
            threading.Thread(target=self._hotspot_worker, name="hotspot", daemon=True).start()

    def _hotspot_worker(self) -> None:
        """NetworkManager takes seconds to bring up an access point: off the conductor's thread."""
        if self._p.open_hotspot is None:
            said = HOTSPOT_NONE()
        else:
            try:
                said = HOTSPOT_OPEN(url=self._p.open_hotspot())
            except Exception as e:  # the error's text never holds the password (kit.net.hotspot)
                said = HOTSPOT_FAILED(reason=e.message if isinstance(e, WifiError) else str(e))
        message = str(said)
        log.info("hotspot %s", message)
        with self._changed:
            self._hotspot = message
            self._hotspot_said = said
            self._version += 1
            self._changed.notify_all()

    def network_changed(self) -> None:
        """The Wi-Fi screen changed the network: the last hotspot outcome is history."""
        with self._changed:
            if self._hotspot:
                self._hotspot, self._hotspot_said = "", None
                self._version += 1
                self._changed.notify_all()

    def _checks_worker(self, generation: int) -> None:
        try:
            self.make_room()  # before the disk check, which wants min_free_mb free
            results = self.run_checks()
        except Exception as e:
            log.exception("pre-flight checks failed to run")
            results = [checks.Result("internal", checks.Level.FAIL, CHECKS_CRASHED(error=e))]
        with self._lock:
            self._last_checks = results
            self._tried = self._destination()
        camera = next((r for r in results if r.id == "camera"), None)
        if camera is not None:
            # What the checks found about the camera is what the page and the LED say
            # until the watch finds otherwise.
            self._set_camera_problem(camera.said if camera.status is checks.Level.FAIL else None)
            self._camera_look.set()
        failed = checks.first_failure(results)
        event: Event = Ev.CHECKS_PASSED if failed is None else Failed(Failure.CHECK, failed.message)
        self._events.put((event, generation))

    def _check_context(self) -> checks.Context:
        return mic_check.MicContext(
            self._p.current(),
            camera_ok=self._p.camera.available,
            microphone_ok=self._p.audio.available,
            ffmpeg_bin=self._p.ffmpeg_bin,
            light=getattr(self._p.camera, "light", None),
            microphone_device=self.microphone_device,
            camera_problem=getattr(self._p.camera, "problem", None),
        )

    def _start_broadcast(self) -> None:
        broadcast: Broadcast

        def on_event(ev: Event) -> None:  # on the supervisor's thread
            self._events.put((ev, broadcast))

        cfg = self._p.current()
        with self._lock:
            self._tried = (cfg.stream.server, cfg.stream.key)
        broadcast = Broadcast(
            cfg,
            camera=self._p.camera,
            audio=self._p.audio,
            store=self._p.store,
            encoder=self._p.encoder,
            on_event=on_event,
            ffmpeg_bin=self._p.ffmpeg_bin,
            clock=self._clock,
        )
        with self._lock:
            self._broadcast = broadcast
        broadcast.start()

    def _end_broadcast(self, broadcast: Broadcast, end_state: str) -> None:
        summary = broadcast.end(end_state)
        with self._lock:
            self._broadcast = None
            self._last_session = summary


# The error states whose unexplained detail is the encoder's (ffmpeg's last error line).
_ENCODER_STATES = (State.PIPELINE_FAILED, State.SERVER_UNREACHABLE)


def _i18n(st: Status, results: list[checks.Result], hotspot: Message | None) -> dict[str, Any]:
    """status["advice"] and ["hotspot"] as lists of parts to show one after the other, each
    a message (Message.as_dict); what ffmpeg or the server said is mapped to one (kit.said)."""
    out: dict[str, Any] = {}
    if hotspot is not None:
        out["hotspot"] = [hotspot.as_dict()]
    if st.state in ADVICE:
        base = ADVICE[st.state]()
        # As machine.advice: what went wrong (when there is more than the advice), then it.
        parts = [base.as_dict()]
        if st.message not in ("", base.text):
            said = next((r.said for r in results if r.said and r.message == st.message), None)
            # What ffmpeg, the OS or the server said, as a message (kit.said): the raw
            # English stays in the status and the log, the page says it in its language.
            fallback = ENCODER if st.state in _ENCODER_STATES else SEE_LOG
            detail = (said or explain(st.message, fallback)).as_dict()
            parts.insert(0, detail)
        out["advice"] = parts
    return out
