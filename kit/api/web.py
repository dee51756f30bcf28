"""The phone page: server-rendered forms plus a little plain JS, templates under web/.

Routes call the conductor, the settings and the store, never hardware. Every
value is validated on the server (kit.settings, kit.destination); a refused
form is shown again with the message next to its field and nothing saved.
Secrets go back to the browser only masked (last 4 characters).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)

import kit
from kit.api import auth, netpage
from kit.api.presets import BY_ID, PRESETS, split_paste
from kit.checks import Context, Level
from kit.config import LIGHT_MODES
from kit.messages import Message, render, render_dict
from kit.net import checks as net_checks
from kit.net.wifisetup import WifiSetup
from kit.settings import Settings, SettingsError, parse_hashtags, parse_keywords
from kit.store import Store

log = logging.getLogger(__name__)

LANGUAGES = ("en", "sv")
SSE_MAX_S = 300.0  # the browser's EventSource reconnects by itself
SSE_HEARTBEAT_S = 15.0
# States whose figures change without an event (timers, bitrate): sent each second.
TICKING = {"checking", "countdown", "connecting", "live", "reconnecting", "stopping"}
VIDEO_PRESETS = {"720x1280": (720, 1280), "1080x1920": (1080, 1920)}
FPS_CHOICES = (24, 25, 30)


def web_root() -> Path:
    """web/ next to the kit package (a source checkout or an editable install), or
    $KIT_WEB_ROOT, or <prefix>/share/kit/web (a wheel's data files)."""
    env = os.environ.get("KIT_WEB_ROOT")
    if env:
        return Path(env)
    beside = Path(kit.__file__).resolve().parent.parent / "web"
    if (beside / "templates").is_dir():
        return beside
    return Path(sys.prefix) / "share" / "kit" / "web"


@dataclass
class WebDeps:
    """What the page needs, built by the composition root."""

    settings: Settings
    store: Store
    state_dir: Path
    # {"temperature_c": float|None, "wifi_dbm": int|None}; None values show as "—".
    health: Callable[[], dict[str, Any]] = dict
    # One JPEG of the camera for framing, or None when the camera cannot give one.
    snapshot: Callable[[], bytes | None] | None = None
    root: Path = field(default_factory=web_root)
    clock: Callable[[], float] = time.monotonic
    sse_max_s: float = SSE_MAX_S
    limiter: auth.LoginLimiter = field(default_factory=auth.LoginLimiter)
    # Scan / join / forget / hotspot for the Wi-Fi screen; None: status only, no changes.
    network: WifiSetup | None = None
    # The kit's names for the login page (its hostname, its hotspot's Kit-XXXX where known),
    # so that a creator sees that the page is their kit's.
    names: Callable[[], dict[str, str]] | None = None
    # The logged-in sessions (kept in state_dir): a logout ends one for good.
    sessions: auth.Sessions = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = auth.Sessions(self.state_dir)


class Catalogue:
    """One JSON file of strings per language; English fills any gap."""

    def __init__(self, folder: Path) -> None:
        self._strings = {
            lang: json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))
            for lang in LANGUAGES
        }

    def get(self, lang: str, key: str, **values: Any) -> str:
        # A count of one reads "<key>.one" where there is one ("1 highlight"; English and
        # Swedish both say the singular for one alone: "0 highlights", "2 höjdpunkter").
        if values.get("n") == 1 and f"{key}.one" in self._strings["en"]:
            key = f"{key}.one"
        text = self._strings.get(lang, {}).get(key) or self._strings["en"].get(key, key)
        return text.format(**values) if values else text

    def error(self, lang: str, message: Message | str) -> str:
        """A validator's message in ``lang``; its English text where there is no entry."""
        return render(message, self._strings.get(lang, {}))

    def said(self, lang: str, parts: list[dict[str, Any]]) -> str:
        """Parts of a status text (Message.as_dict, or {"text": English}) in ``lang``."""
        return " ".join(render_dict(p, self._strings.get(lang, {})) for p in parts)

    def client(self, lang: str) -> dict[str, str]:
        """The strings the page's script needs: its own ('js.'), the states' names and the
        microphone meter's sentences (the level readings it polls)."""
        return {
            k: self.get(lang, k)
            for k in self._strings["en"]
            if k.startswith(("js.", "state.", "error.check.mic_level."))
        }


def public_status(st: dict[str, Any]) -> dict[str, Any]:
    """The conductor's status without what the page must not see (pids, paths)."""
    hidden = {"ffmpeg_pid", "recording", "light"}
    out = {k: v for k, v in st.items() if k not in hidden}
    light = st.get("light") or {}
    out["light"] = {k: light[k] for k in ("relay", "mode", "manual_on") if k in light}
    if isinstance(out.get("last_session"), dict):
        out["last_session"] = {k: v for k, v in out["last_session"].items() if k != "recording"}
    return out


class Health:
    """The health figures, read at most every few seconds however many phones watch."""

    def __init__(self, read: Callable[[], dict[str, Any]], recordings: Callable[[], Path]) -> None:
        self._read, self._recordings = read, recordings
        self._lock = threading.Lock()
        self._at = -1e9
        self._value: dict[str, Any] = {}

    def get(self, now: float) -> dict[str, Any]:
        with self._lock:
            if now - self._at > 5:
                value: dict[str, Any] = {"temperature_c": None, "wifi_dbm": None}
                try:
                    value |= self._read()
                except Exception:  # a health reader must never break the page
                    log.warning("reading the health figures failed", exc_info=True)
                try:
                    value["disk_free_mb"] = shutil.disk_usage(self._recordings()).free // 2**20
                except OSError:
                    value["disk_free_mb"] = None
                self._value, self._at = value, now
            return dict(self._value)


def blueprint(conductor: Any, deps: WebDeps) -> Blueprint:
    root = deps.root
    bp = Blueprint("web", __name__, template_folder=str(root / "templates"))
    strings = Catalogue(root / "i18n")
    health = Health(deps.health, lambda: deps.settings.current().recording.dir)

    def lang() -> str:
        return request.accept_languages.best_match(LANGUAGES) or "en"

    def t(key: str, **values: Any) -> str:
        return strings.get(lang(), key, **values)

    def field_errors(e: SettingsError) -> dict[str, str]:
        """The refused fields' messages in the visitor's language."""
        return {name: strings.error(lang(), m) for name, m in e.messages.items()}

    def csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return str(session["csrf"])

    @bp.app_context_processor
    def _context() -> dict[str, Any]:
        return {
            "t": t,
            "lang": lang(),
            "csrf_token": csrf_token,
            "logged_in": signed_in(deps),
            "settings_warning": (
                strings.error(lang(), deps.settings.warning_said)
                if deps.settings.warning_said
                else deps.settings.warning
            ),
            "js_strings": strings.client(lang()),
        }

    def page(template: str, code: int = 200, **values: Any) -> Response:
        html = render_template(template, **values)
        return Response(html, code, mimetype="text/html")

    # -- static files --------------------------------------------------------------

    @bp.get("/static/<path:name>")
    def static(name: str) -> Response:
        resp = send_from_directory(root / "static", name, max_age=3600)
        return resp

    # -- first run, login, logout -------------------------------------------------

    @bp.route("/setup", methods=["GET", "POST"])
    def setup() -> Any:
        if auth.password_is_set(deps.state_dir):
            return redirect(url_for("web.login"))
        error = ""
        if request.method == "POST":
            pw, again = request.form.get("password", ""), request.form.get("again", "")
            problem = auth.check_new_password(pw, again)
            if problem is None:
                auth.set_password(deps.state_dir, pw)
                _log_in()
                return redirect(url_for("web.home"))
            error = t("auth.password_problem", problem=strings.error(lang(), problem))
        return page("setup.html", 400 if error else 200, error=error,
                    min_length=auth.MIN_PASSWORD_LENGTH)  # fmt: skip

    def _log_in() -> None:
        session.clear()
        session.permanent = True
        session["auth"] = auth.password_generation(deps.state_dir)
        session["sid"] = deps.sessions.open()
        session["csrf"] = secrets.token_urlsafe(32)

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if not auth.password_is_set(deps.state_dir):
            return redirect(url_for("web.setup"))
        error, code = "", 200
        if request.method == "POST":
            ip = request.remote_addr or "?"
            now = deps.clock()
            wait = deps.limiter.retry_after(ip, now)
            if wait:
                error, code = t("auth.too_many", seconds=wait), 429
            elif auth.verify_password(deps.state_dir, request.form.get("password", "")):
                deps.limiter.succeeded(ip)
                _log_in()
                return redirect(url_for("web.home"))
            else:
                deps.limiter.failed(ip, now)
                wait = deps.limiter.retry_after(ip, now)
                error = t("auth.too_many", seconds=wait) if wait else t("auth.wrong_password")
                code = 429 if wait else 401
        return page("login.html", code, error=error, names=kit_names())

    def kit_names() -> dict[str, str]:
        """{"host": the hostname, "hotspot": Kit-XXXX where the kit has a hotspot}."""
        if deps.names is not None:
            return deps.names()
        names = {"host": socket.gethostname()}
        hotspot = deps.network.hotspot if deps.network is not None else None
        if hotspot is not None:  # Kit-XXXX from the Wi-Fi's MAC address (files, no nmcli)
            names["hotspot"] = hotspot.ssid
        return names

    @bp.post("/logout")
    def logout() -> Any:
        deps.sessions.close(session.get("sid"))  # a copy of the cookie opens nothing now
        session.clear()
        return redirect(url_for("web.login"))

    # -- home and live updates ----------------------------------------------------

    def live_status(language: str) -> dict[str, Any]:
        st = public_status(conductor.status())
        known = {k: v for k, v in (st.get("health") or {}).items() if v is not None}
        return {**st, "health": {**health.get(deps.clock()), **known},
                "shown": shown(st, language)}  # fmt: skip

    def shown(st: dict[str, Any], language: str) -> dict[str, Any]:
        """The status's sentences in the visitor's language (from the ids in st["i18n"];
        the English where a text has none), for the home page and its live updates."""
        said = st.get("i18n") or {}

        def text(name: str) -> str:
            return strings.said(language, said[name]) if name in said else st.get(name, "")

        warnings = [strings.said(language, [w]) for w in said.get("warnings", [])]
        return {"advice": text("advice"), "hotspot": text("hotspot"),
                "warnings": warnings if "warnings" in said else st.get("warnings", [])}  # fmt: skip

    @bp.get("/")
    def home() -> Any:
        return page("home.html", status=live_status(lang()))

    @bp.get("/events")
    def events() -> Response:
        deadline = deps.clock() + deps.sse_max_s
        language = lang()  # the stream runs after the request's context has gone

        def stream() -> Iterator[str]:
            version = -1
            last_sent = deps.clock()
            yield "retry: 2000\n\n"
            while deps.clock() < deadline:
                st = live_status(language)
                ticking = st["state"] in TICKING
                if st["version"] != version or ticking:
                    version = st["version"]
                    last_sent = deps.clock()
                    yield f"data: {json.dumps(st)}\n\n"
                elif deps.clock() - last_sent >= SSE_HEARTBEAT_S:
                    last_sent = deps.clock()
                    yield ": heartbeat\n\n"
                conductor.wait_for_change(version, 1.0 if ticking else SSE_HEARTBEAT_S)

        return Response(
            stream(),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # -- destination -------------------------------------------------------------

    def destination_view(errors: dict[str, str], form: dict[str, str], note: str = "",
                         note_ok: bool = True, code: int = 200) -> Response:  # fmt: skip
        cfg = deps.settings.current()
        chosen = form.get("preset") or deps.settings.page()["preset"]
        return page(
            "destination.html", code,
            presets=PRESETS, preset=BY_ID.get(chosen, BY_ID["custom"]),
            server=form.get("server", cfg.stream.server),
            key_masked=cfg.stream.key.masked(), errors=errors, note=note, note_ok=note_ok,
        )  # fmt: skip

    @bp.get("/destination")
    def destination() -> Any:
        return destination_view({}, {})

    @bp.post("/destination")
    def destination_save() -> Any:
        preset = request.form.get("preset", "custom")
        if preset not in BY_ID:
            return destination_view({"preset": t("destination.unknown_preset")}, {}, code=400)
        server, key = split_paste(
            request.form.get("server", ""), request.form.get("key", ""), preset
        )
        changes: dict[str, Any] = {"stream.server": server}
        if key:  # an empty key field keeps the saved key
            changes["stream.key"] = key
        try:
            deps.settings.update(changes, {"preset": preset})
        except SettingsError as e:
            return destination_view(field_errors(e), {"server": server, "preset": preset}, code=400)
        return destination_view({}, {}, note=t("saved"))

    @bp.post("/destination/test")
    def destination_test() -> Any:
        # The same probe as the pre-flight ``ingest`` check, without going live.
        result = net_checks.check_ingest(
            Context(deps.settings.current(), camera_ok=lambda: True, microphone_ok=lambda: True)
        )
        note = strings.error(lang(), result.said or result.message)
        return destination_view({}, {}, note=note, note_ok=result.status is Level.OK)

    # -- title and keywords ---------------------------------------------------------

    def broadcast_view(errors: dict[str, str], form: dict[str, str], note: str = "",
                       code: int = 200) -> Response:  # fmt: skip
        cfg, pg = deps.settings.current(), deps.settings.page()
        return page(
            "broadcast.html", code,
            title=form.get("title", cfg.broadcast.title),
            hashtags=form.get("hashtags", pg["hashtags"]),
            keywords=form.get("keywords", "\n".join(pg["keywords"])),
            keyword_count=len(pg["keywords"]), errors=errors, note=note,
        )  # fmt: skip

    @bp.get("/broadcast")
    def broadcast() -> Any:
        return broadcast_view({}, {})

    @bp.post("/broadcast")
    def broadcast_save() -> Any:
        form = {k: request.form.get(k, "") for k in ("title", "hashtags", "keywords")}
        title = form["title"].strip()
        errors: dict[str, str] = {}
        page_values: dict[str, Any] = {}
        for name, parse in (("hashtags", parse_hashtags), ("keywords", parse_keywords)):
            try:
                parsed = parse(form[name])
                page_values[name] = " ".join(parsed) if name == "hashtags" else parsed
            except SettingsError as e:
                errors |= field_errors(e)
        if not errors:
            try:
                deps.settings.update({"broadcast.title": title}, page_values)
            except SettingsError as e:
                errors |= field_errors(e)
        if errors:
            return broadcast_view(errors, form, code=400)
        return broadcast_view({}, {}, note=t("saved"))

    # -- picture and sound ---------------------------------------------------------

    def picture_view(errors: dict[str, str], note: str = "", code: int = 200) -> Response:
        cfg = deps.settings.current()
        s = cfg.stream
        st = conductor.status()
        return page(
            "picture.html", code,
            video=f"{s.width}x{s.height}", fps=s.fps, bitrate=s.bitrate_kbps,
            device=cfg.audio.device, presets=VIDEO_PRESETS,
            fps_choices=FPS_CHOICES, errors=errors, note=note,
            has_snapshot=deps.snapshot is not None,
            light_mode=cfg.light.mode, light_modes=LIGHT_MODES,
            light=public_status(st)["light"],
        )  # fmt: skip

    @bp.get("/picture")
    def picture() -> Any:
        return picture_view({})

    @bp.post("/picture")
    def picture_save() -> Any:
        errors: dict[str, str] = {}
        video = request.form.get("video", "")
        if video not in VIDEO_PRESETS:
            errors["stream.width"] = t("picture.bad_video")
        values: dict[str, Any] = {"audio.device": request.form.get("device", "").strip()}
        for name, key in (("fps", "stream.fps"), ("bitrate", "stream.bitrate_kbps")):
            raw = request.form.get(name, "").strip()
            if not raw.isdigit() or len(raw) > 6:
                errors[key] = t("not_a_number")
            else:
                values[key] = int(raw)
        if not errors:
            width, height = VIDEO_PRESETS[video]
            try:
                deps.settings.update({**values, "stream.width": width, "stream.height": height})
            except SettingsError as e:
                errors |= field_errors(e)
        if errors:
            return picture_view(errors, code=400)
        return picture_view({}, note=t("saved"))

    @bp.post("/picture/light")
    def light_save() -> Any:
        try:
            deps.settings.update({"light.mode": request.form.get("mode", "")})
        except SettingsError as e:
            return picture_view(field_errors(e), code=400)
        conductor.set_light()  # the new mode shows at once
        return picture_view({}, note=t("saved"))

    @bp.post("/picture/light/switch")
    def light_switch() -> Any:
        on = request.form.get("on", "")
        if on not in ("0", "1"):
            abort(400)
        conductor.set_light(on == "1")
        return redirect(url_for("web.picture") + "#light")

    @bp.get("/snapshot.jpg")
    def snapshot() -> Any:
        if deps.snapshot is None or conductor.status()["state"] not in ("idle",):
            abort(404)
        jpeg = deps.snapshot()
        if jpeg is None:
            abort(404)
        return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})

    # -- checks --------------------------------------------------------------------

    @bp.get("/checks")
    def checks_page() -> Any:
        results = [{**r.as_dict(), "text": strings.error(lang(), r.said or r.message)}
                   for r in conductor.run_checks()]  # fmt: skip
        return page("checks.html", results=results)

    netpage.register(bp, deps.network, page, t, lambda m: strings.error(lang(), m))
    bp.add_app_template_filter(_clock, "clock")
    bp.add_app_template_filter(_size, "size")
    return bp


def signed_in(deps: WebDeps) -> bool:
    """The request's session logged in under the password in force and has not logged out."""
    generation = session.get("auth")
    return (
        generation is not None
        and hmac.compare_digest(str(generation), str(auth.password_generation(deps.state_dir)))
        and deps.sessions.valid(session.get("sid"))
    )


def is_public(endpoint: str | None) -> bool:
    return endpoint in ("web.login", "web.setup", "web.static")


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return ""
