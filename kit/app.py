"""The composition root: build every object from the config, run, shut down in order."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

from kit import sdnotify
from kit.api.app import WebServer, create_app
from kit.api.auth import ensure_token
from kit.config import Config
from kit.daemon import Conductor, Parts
from kit.hw.gpio import Panel
from kit.media import encoders
from kit.media.audio import AlsaMicrophone, AudioSource, Tone
from kit.media.camera import CameraSource, TestPatternCamera
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


def build_sources(cfg: Config, simulate: bool) -> tuple[CameraSource, AudioSource, Any]:
    """Camera, microphone and pin factory: simulated, or the Pi's own."""
    if simulate:
        from gpiozero.pins.mock import MockFactory

        s = cfg.stream
        return TestPatternCamera(s.width, s.height, s.fps), Tone(), MockFactory()
    raise SystemExit(
        "kit: the Raspberry Pi camera backend is not available in this build; "
        "run with --simulate to use a test pattern"
    )


def run(cfg: Config, simulate: bool = False, verbose: bool = False) -> int:
    setup_logging(verbose)
    for folder in (cfg.state.dir, cfg.recording.dir):
        folder.mkdir(parents=True, exist_ok=True)
    cfg.state.dir.chmod(0o700)
    token = ensure_token(cfg.state.dir)
    camera, audio, pin_factory = build_sources(cfg, simulate)
    if isinstance(audio, AlsaMicrophone) and not audio.available():
        log.warning("no microphone found yet; the pre-flight check will say so")
    store = Store(cfg.state.dir / "kit.db")
    encoder = encoders.choose(cfg.stream.encoder)

    conductor: Conductor | None = None

    def on_press() -> None:
        if conductor is not None:
            conductor.press()

    def on_hold() -> None:
        if conductor is not None:
            conductor.hold()

    panel = Panel(cfg.gpio, on_press, on_hold, pin_factory=pin_factory)
    web: WebServer | None = None
    try:
        conductor = Conductor(Parts(cfg, camera, audio, panel, store, encoder))
        app = create_app(conductor, token, panel.simulate_press if simulate else None)
        web = WebServer(app, cfg.web.host, cfg.web.port)
        stop = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("%s received: ending in order", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        conductor.start()
        web.start()
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
