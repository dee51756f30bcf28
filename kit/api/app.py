"""The JSON API the CLI and the phone page use. Routes call the conductor, never hardware.

Two ways in, to the same routes: the CLI sends ``Authorization: Bearer <token>``
(the token file is readable only by the kit's user); the phone page has a
signed session cookie (HttpOnly, SameSite=Strict) and sends its CSRF token with
every request that changes anything. Without either, /api/ answers 401 and a
page redirects to the login; nothing changes. Served by waitress (a production
WSGI server), never by Flask's development server.
"""

from __future__ import annotations

import errno
import hmac
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify, redirect, request, session, url_for
from werkzeug.exceptions import HTTPException

from kit.api import auth, body
from kit.api.auth import bearer_ok
from kit.api.web import WebDeps
from kit.checks import Result
from kit.machine import Ev, Event, State
from kit.media.micservice import MicrophoneService

log = logging.getLogger(__name__)

MAX_SIM_HOLD_S = 15.0
# Why the conductor did not take a request, by the event asked for ({state}: where it is).
NOT_NOW = {
    Ev.START: "cannot go live while {state}",
    Ev.MARKER: "markers can only be added while live (the kit is {state})",
}


class ConductorAPI:
    """What the web layer needs from the conductor (kit.daemon.Conductor has it)."""

    def submit(self, event: Ev) -> None: ...
    def request(self, event: Event) -> tuple[bool, str]:
        """(whether the state machine takes the event now, the state's name)."""
        ...

    def status(self) -> dict[str, Any]: ...
    def run_checks(self) -> list[Any]: ...
    def wait_for_change(self, version: int, timeout: float) -> int: ...
    def microphone_device(self) -> str | None: ...
    def microphone_in_use(self) -> bool: ...
    def set_light(self, on: bool | None = None) -> None: ...
    def test_destination(self, server: str, key: str = "") -> Result: ...


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Everything the page loads comes from the kit itself (a phone on the kit's own
# hotspot has no internet, and a page that calls no other host leaks nothing).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def create_app(
    conductor: ConductorAPI,
    token: str,
    simulate_press: Callable[[float], None] | None = None,
    web: WebDeps | None = None,
    microphone: MicrophoneService | None = None,
) -> Flask:
    """The API alone (``web`` None: token only), or the API and the phone page.
    ``microphone``: the level meter and gain (built from the conductor if not given)."""
    mics = microphone or MicrophoneService(conductor.microphone_device, conductor.microphone_in_use)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    if web is not None:
        from kit.api import recordings
        from kit.api.web import blueprint

        app.secret_key = auth.ensure_secret_key(web.state_dir)
        app.config |= {
            "SESSION_COOKIE_NAME": "kit_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Strict",
            "PERMANENT_SESSION_LIFETIME": timedelta(days=30),
        }
        app.register_blueprint(blueprint(conductor, web))
        app.register_blueprint(recordings.blueprint(conductor, web))

    @app.before_request
    def _authenticate() -> Any:
        if bearer_ok(request.headers.get("Authorization"), token):
            return None  # the CLI: the token is the proof, no cookie, no CSRF
        if web is None:
            return jsonify(error="unauthorized: use the kit's API token"), 401
        from kit.api.web import is_public, signed_in

        if not (signed_in(web) or is_public(request.endpoint)):
            if request.path.startswith("/api/") or request.path == "/events":
                return jsonify(error="unauthorized: log in on the page or use the API token"), 401
            return redirect(url_for("web.login"))
        if request.method not in SAFE_METHODS:
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf", "")
            expected = session.get("csrf")
            if not expected or not hmac.compare_digest(str(sent), str(expected)):
                return jsonify(error="refused: missing or wrong CSRF token; reload the page"), 403
        return None

    @app.before_request
    def _body() -> None:
        # After the check above: a body is read only from a client that may send one.
        body.check(request)

    @app.after_request
    def _headers(resp: Any) -> Any:
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if resp.mimetype == "text/html":
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Any:
        return jsonify(error=e.description), e.code

    def _state() -> State:
        return State(conductor.status()["state"])

    @app.get("/api/status")
    def status() -> Any:
        return jsonify(conductor.status())

    # The conductor alone decides what a state allows (kit.machine's table): the API
    # offers the event and says why when it was not taken.
    def _offer(event: Ev) -> Any:
        accepted, state = conductor.request(event)
        if not accepted:
            return jsonify(error=NOT_NOW[event].format(state=state), state=state), 409
        return jsonify(accepted=True, state=state), 202

    @app.post("/api/live/start")
    def live_start() -> Any:
        return _offer(Ev.START)

    @app.post("/api/live/stop")
    def live_stop() -> Any:
        # Stopping what has already stopped is no error (kit live stop waits for idle).
        accepted, state = conductor.request(Ev.STOP)
        return jsonify(accepted=accepted, state=state), 202

    @app.post("/api/marker")
    def marker() -> Any:
        return _offer(Ev.MARKER)

    @app.get("/api/checks")
    def run_checks() -> Any:
        return jsonify([r.as_dict() for r in conductor.run_checks()])

    # -- the microphone: level meter and capture gain (kit.media.micservice) ------------

    @app.get("/api/mic/level")
    def mic_level() -> Any:
        return jsonify(mics.level())

    def _gain(answer: dict[str, Any]) -> Any:
        return jsonify(answer), 409 if "error" in answer else 200

    @app.get("/api/mic/gain")
    def mic_gain() -> Any:
        return _gain(mics.gain())

    @app.post("/api/mic/gain")
    def mic_gain_set() -> Any:
        fields = body.json_object(request)
        percent = fields.get("percent")
        if (
            isinstance(percent, bool)
            or not isinstance(percent, (int, float))
            or not (0 <= percent <= 100)
        ):
            return jsonify(error="percent must be a number from 0 to 100"), 400
        return _gain(mics.set_gain(float(percent)))

    @app.post("/api/press")
    def press() -> Any:
        if simulate_press is None:
            return jsonify(error="presses can be simulated only with kit run --simulate"), 404
        fields = body.json_object(request)
        hold = fields.get("hold", 0.15)
        if (
            isinstance(hold, bool)
            or not isinstance(hold, (int, float))
            or not (0 < hold <= MAX_SIM_HOLD_S)
        ):
            return jsonify(error=f"hold must be a number of seconds, at most {MAX_SIM_HOLD_S}"), 400
        simulate_press(float(hold))
        return jsonify(pressed=True, hold=hold, state=_state().value)

    return app


class WebServer:
    """waitress in a background thread; ``close`` stops it."""

    # Each phone with the home page open holds one thread with its live-update
    # stream (ended after SSE_MAX_S, then the browser reconnects); 16 leaves room
    # for a handful of phones and the CLI. Threads idle cost only their stack.
    THREADS = 16

    def __init__(self, app: Flask, host: str, port: int) -> None:
        from waitress.server import create_server

        self._server = create_server(
            app, host=host, port=port, threads=self.THREADS, ident="kit",
            clear_untrusted_proxy_headers=True,
        )  # fmt: skip
        self.port = self._server.effective_port  # type: ignore[union-attr]
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)
        logging.getLogger("waitress").addFilter(self._quiet_when_closing)

    def _quiet_when_closing(self, record: logging.LogRecord) -> bool:
        # A page's live-update stream (/events) that writes its next chunk while close()
        # has shut waitress's trigger gets EBADF in its worker thread: the stream ending
        # with the server, not a fault (a traceback in the log failed the e2e tests).
        if not self._closing.is_set() or not record.exc_info:
            return True
        error = record.exc_info[1]
        return not (isinstance(error, OSError) and error.errno == errno.EBADF)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        try:
            self._server.run()
        except OSError:
            # close() shuts the listening socket while the loop may be inside select():
            # that EBADF is the loop ending, not a fault (a traceback in the log said so).
            if not self._closing.is_set():
                raise

    def close(self) -> None:
        self._closing.set()
        self._server.close()
