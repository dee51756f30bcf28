"""The JSON API the CLI and the phone page use. Routes call the conductor, never hardware.

Every route needs ``Authorization: Bearer <token>``; without it the answer is
401 and nothing changes. Served by waitress (a production WSGI server), never
by Flask's development server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from kit.api.auth import bearer_ok
from kit.machine import ON_AIR_STATES, READY_STATES, Ev, State

log = logging.getLogger(__name__)

MAX_SIM_HOLD_S = 15.0


class ConductorAPI:
    """What the web layer needs from the conductor (kit.daemon.Conductor has it)."""

    def submit(self, event: Ev) -> None: ...
    def status(self) -> dict[str, Any]: ...
    def run_checks(self) -> list[Any]: ...


def create_app(
    conductor: ConductorAPI,
    token: str,
    simulate_press: Callable[[float], None] | None = None,
) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    @app.before_request
    def _authenticate() -> Any:
        if not bearer_ok(request.headers.get("Authorization"), token):
            return jsonify(error="unauthorized: use the kit's API token"), 401
        return None

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Any:
        return jsonify(error=e.description), e.code

    def _state() -> State:
        return State(conductor.status()["state"])

    @app.get("/api/status")
    def status() -> Any:
        return jsonify(conductor.status())

    @app.post("/api/live/start")
    def live_start() -> Any:
        state = _state()
        if state not in READY_STATES:
            return jsonify(error=f"cannot go live while {state.value}", state=state.value), 409
        conductor.submit(Ev.START)
        return jsonify(accepted=True, state=state.value), 202

    @app.post("/api/live/stop")
    def live_stop() -> Any:
        conductor.submit(Ev.STOP)
        return jsonify(accepted=True, state=_state().value), 202

    @app.post("/api/marker")
    def marker() -> Any:
        state = _state()
        if state not in ON_AIR_STATES:
            return jsonify(error="markers can only be added while live", state=state.value), 409
        conductor.submit(Ev.MARKER)
        return jsonify(accepted=True, state=state.value), 202

    @app.get("/api/checks")
    def run_checks() -> Any:
        return jsonify([r.as_dict() for r in conductor.run_checks()])

    @app.post("/api/press")
    def press() -> Any:
        if simulate_press is None:
            return jsonify(error="presses can be simulated only with kit run --simulate"), 404
        body = request.get_json(silent=True) or {}
        hold = body.get("hold", 0.15)
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

    def __init__(self, app: Flask, host: str, port: int) -> None:
        from waitress.server import create_server

        self._server = create_server(
            app, host=host, port=port, threads=4, ident="kit", clear_untrusted_proxy_headers=True
        )
        self.port = self._server.effective_port  # type: ignore[union-attr]
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.close()
