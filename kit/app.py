"""The composition root: build every object from the config, run, shut down in order."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from kit import recovery, sdnotify, startup
from kit.api.app import WebServer, create_app
from kit.api.auth import ensure_token
from kit.api.web import WebDeps
from kit.broadcast import encode_for
from kit.config import Config
from kit.daemon import Conductor, Parts
from kit.hw.gpio import Panel
from kit.media import encoders, pipeline
from kit.media.audio import AlsaMicrophone, AudioSource, Tone
from kit.media.camera import CameraSource, Flaws, TestPatternCamera
from kit.media.micservice import MicrophoneService
from kit.settings import Settings
from kit.store import Store

log = logging.getLogger("kit")


def setup_logging(verbose: bool) -> None:
    # Under systemd the journal adds time and unit; elsewhere show the time.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if "JOURNAL_STREAM" not in os.environ:
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format=fmt, stream=sys.stderr
    )
    logging.getLogger("waitress").setLevel(logging.WARNING)


def camera_source(cfg: Config, simulate: bool) -> str:
    """Where the picture comes from: [camera] source, with "auto" decided by --simulate."""
    if cfg.camera.source != "auto":
        return cfg.camera.source
    return "test-pattern" if simulate else "picamera2"


def build_sources(
    cfg: Config, simulate: bool, current: Callable[[], Config] | None = None
) -> tuple[CameraSource, AudioSource, Any]:
    """Camera, microphone and pin factory: simulated, or the Pi's own. In simulation the
    microphone is a tone unless [audio] device names a real ALSA capture device, and the
    camera the test pattern unless [camera] source says picamera2.

    `current` gives the settings in force now (the config with the page's edits): each
    broadcast captures at its video preset and from its microphone, as the page shows.
    Nothing here opens the camera: a missing or busy one is found by the checks and
    said on the page, and the kit stays up."""
    now = current or (lambda: cfg)

    def settings() -> pipeline.Encode:
        # The camera source encodes; its encoder is chosen where it runs (kit.media.camproc).
        return encode_for(now(), now().stream.encoder)

    def mic_device() -> str:
        return now().audio.device

    def flaws() -> Flaws:
        sim = now().simulation
        return Flaws(sim.camera_rate_error_percent, sim.camera_drop_percent, sim.sync_pattern)

    camera: CameraSource
    if camera_source(cfg, simulate) == "test-pattern":
        camera = TestPatternCamera(settings, flaws)
    else:
        from kit.media.camclient import CameraProcess

        c = cfg.camera
        camera = CameraProcess(
            settings,
            mount=c.mount,
            hflip=c.hflip,
            vflip=c.vflip,
            python=c.python.split() or None,
            sync_pattern=simulate and cfg.simulation.sync_pattern,
            encoder=cfg.stream.encoder,
        )
    if simulate:
        from gpiozero.pins.mock import MockFactory

        tone = Tone(sync=lambda: now().simulation.sync_pattern)
        audio: AudioSource = AlsaMicrophone(mic_device) if mic_device() else tone
        return camera, audio, MockFactory()
    # gpiozero's default pin factory: lgpio on Bookworm, which works on a Pi 5.
    return camera, AlsaMicrophone(mic_device), None


class HealthReader:
    """The page's health figures, read at most every few seconds; None where this
    machine cannot tell (shown as "—")."""

    EVERY_S = 5.0

    def __init__(self) -> None:
        from kit.net.wifi import Wifi

        self._wifi = Wifi()
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any]] | None = None

    def __call__(self) -> dict[str, Any]:
        import time

        from kit.hw import health
        from kit.net.checks import call_with_timeout

        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self.EVERY_S:
                return self._cached[1]
            try:
                link = call_with_timeout(self._wifi.status, 3.0).as_dict()
            except Exception:  # a status figure must never break the page
                log.exception("reading the network status")
                link = {}
            figures = {
                "temperature_c": health.read_temperature(),
                "wifi_dbm": link.get("signal_dbm"),
                "network": link,
            }
            self._cached = (now, figures)
            return figures


def wifi_setup(conductor: Conductor, simulate: bool) -> Any:
    """The page's Wi-Fi screen. On a Pi: NetworkManager and the kit's hotspot. In
    simulation: the status of this computer's link, read only, unless $KIT_NMCLI names a
    stand-in nmcli (tests/peers/fake_nmcli) to drive the screen against."""
    from kit.api.netpage import can_change
    from kit.net.hotspot import Hotspot
    from kit.net.wifi import SIMULATION, Wifi, WifiError
    from kit.net.wifisetup import WifiSetup

    stand_in = os.environ.get("KIT_NMCLI")
    if simulate and not stand_in:
        refusal = WifiError(SIMULATION())
        return WifiSetup(Wifi(), None, can_change(conductor), read_only=refusal)
    nmcli = stand_in or "nmcli"
    hotspot = None if simulate else Hotspot(nmcli)
    return WifiSetup(Wifi(nmcli), hotspot, can_change(conductor), on_done=conductor.network_changed)


def open_hotspot(setup: Any, port: int) -> Any:
    """The kit's own Wi-Fi (Kit-XXXX), opened on demand (a 10 s hold when idle); the
    networks around are scanned first, for the page (no scanning once it is open)."""

    def start() -> str:
        return setup.open_hotspot().url(port)

    return start


def open_hotspot_at_boot(conductor: Conductor, wait_s: float = 30.0) -> None:
    """With no known Wi-Fi and no link at boot, open the hotspot so a phone can set one up.
    NetworkManager needs some seconds to bring links up first."""

    def decide() -> None:
        from kit.net.hotspot import Hotspot

        try:
            if Hotspot().should_open_at_boot():
                conductor.long_hold()
        except Exception:  # no NetworkManager here: nothing to decide
            log.info("hotspot: no NetworkManager to ask at boot")

    timer = threading.Timer(wait_s, decide)
    timer.daemon = True
    timer.start()


def snapshot_source(camera: CameraSource) -> Any:
    """The preview frame for the page: the test pattern's, or the camera's own."""
    if isinstance(camera, TestPatternCamera):
        from kit.api.preview import TestPatternSnapshot

        return TestPatternSnapshot()
    from kit.media.camera import CameraError

    def from_camera() -> bytes | None:
        try:
            return camera.snapshot()  # type: ignore[attr-defined, no-any-return]
        except CameraError:
            return None

    return from_camera if hasattr(camera, "snapshot") else None


def run(
    cfg: Config, simulate: bool = False, verbose: bool = False, config_path: str = "the config"
) -> int:
    setup_logging(verbose)
    # First, before a pin, the store or a port is opened: a sentence, not a traceback.
    try:
        lock = startup.claim(cfg, config_path)
    except startup.StartupError as e:
        log.error("%s", e)
        sdnotify.notify(f"STATUS={e}")
        return 1
    try:
        return _run(cfg, simulate, config_path)
    finally:
        lock.release()


def _run(cfg: Config, simulate: bool, config_path: str) -> int:
    cfg.state.dir.chmod(0o700)
    token = ensure_token(cfg.state.dir)
    settings = Settings(cfg, cfg.state.dir)
    if settings.warning:
        log.warning("%s", settings.warning)
    camera, audio, pin_factory = build_sources(cfg, simulate, settings.current)
    if isinstance(audio, AlsaMicrophone) and not audio.available():
        log.warning("no microphone found yet; the pre-flight check will say so")
    store = Store(cfg.state.dir / "kit.db")
    recovery.close_interrupted(store)  # a broadcast a crash or a power cut left open
    encoder = encoders.choose(cfg.stream.encoder)

    conductor: Conductor | None = None

    def on_press() -> None:
        if conductor is not None:
            conductor.press()

    def on_hold() -> None:
        if conductor is not None:
            conductor.hold()

    def on_long_hold() -> None:
        if conductor is not None:
            conductor.long_hold()

    panel = Panel(cfg.gpio, on_press, on_hold, pin_factory=pin_factory, on_long_hold=on_long_hold)
    web: WebServer | None = None
    try:
        parts = Parts(
            cfg,
            camera,
            audio,
            panel,
            store,
            encoder,
            settings=settings.current,
        )
        conductor = Conductor(parts)
        settings.on_change(conductor.settings_changed)  # a saved destination clears its error
        network = wifi_setup(conductor, simulate)
        if not simulate:
            parts.open_hotspot = open_hotspot(network, cfg.web.port)
        web_deps = WebDeps(
            settings,
            store,
            cfg.state.dir,
            health=HealthReader(),
            snapshot=snapshot_source(camera),
            network=network,
        )
        # The page's microphone meter and gain: the conductor says which device and
        # whether it is taken; the service alone opens it (kit.media.micservice).
        microphone = MicrophoneService(conductor.microphone_device, conductor.microphone_in_use)
        app = create_app(
            conductor, token, panel.simulate_press if simulate else None, web_deps, microphone
        )
        try:
            web = WebServer(app, cfg.web.host, cfg.web.port)
        except OSError as e:  # taken in the moment since startup.claim looked
            log.error("%s", startup.port_error(e, cfg.web.host, cfg.web.port, config_path))
            return 1
        stop = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("%s received: ending in order", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        conductor.start()
        web.start()
        if not simulate:
            open_hotspot_at_boot(conductor)
        log.info(
            "kit ready%s: page and API on http://%s:%s",
            " (simulation)" if simulate else "",
            cfg.web.host,
            web.port,
        )
        sdnotify.notify("READY=1")
        stop.wait()
        sdnotify.notify("STOPPING=1")
        conductor.shutdown()
    finally:
        if web is not None:
            web.close()
        panel.close()  # relay off, whatever happened above
        camera.close()
        store.close()
    log.info("kit stopped")
    return 0
