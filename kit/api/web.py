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
    flash,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)

import kit
from kit import destination as dest
from kit.api import auth, netpage
from kit.api.presets import BY_ID, PRESETS, split_paste
from kit.checks import Level
from kit.config import LIGHT_MODES
from kit.machine import ERROR_STATES, ON_AIR_STATES, READY_STATES, State
from kit.messages import Message, render, render_dict
from kit.net.wifisetup import WifiSetup
from kit.settings import Settings, SettingsError, parse_hashtags, parse_keywords
from kit.store import Store

log = logging.getLogger(__name__)

LANGUAGES = ("en", "sv")
SSE_MAX_S = 300.0  # the browser's EventSource reconnects by itself
SSE_HEARTBEAT_S = 15.0  # the page calls the kit lost after 20 s without a word (kit.js)
# States whose figures change without an event (timers, bitrate): sent each second.
TICKING = {"checking", "countdown", "connecting", "live", "reconnecting", "stopping"}
# The first setup's steps (after the password): page -> (its number, the next page, the
# next button's words). The destination page splits a pasted TikTok URL with its key.
_DESTINATION = (1, "web.broadcast", "guide.next_title")
_TITLE = (2, "web.checks_page", "guide.next_checks")
GUIDE_STEPS = {
    "web.destination": _DESTINATION,
    "web.destination_save": _DESTINATION,
    "web.destination_test": _DESTINATION,
    "web.broadcast": _TITLE,
    "web.broadcast_save": _TITLE,
    "web.checks_page": (3, "web.home", "guide.next_home"),
}
GUIDE_LENGTH = 3
# A broadcast's page (kit.api.recordings' report route), for links made outside a request.
RECORDING_URL = "/recordings/{id}"
# The states as the page's script groups them (kit.machine's sets, by name): where Go live
# is offered, where the broadcast is on air (the live banner, Mark highlight).
STATE_SETS = {
    "ready": " ".join(sorted(s.value for s in READY_STATES)),
    "on_air": " ".join(sorted(s.value for s in ON_AIR_STATES)),
}
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
            if k.startswith(("js.", "state.", "error.check.mic_level.", "error.mic."))
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

    def on_air() -> dict[str, Any] | None:
        """The live banner every page shows while on air (state and timer; kit.js keeps
        it current), None otherwise."""
        st = conductor.status()
        if State(st["state"]) not in ON_AIR_STATES:
            return None
        return {"state": t("state." + st["state"]), "timer": _clock(st.get("elapsed_s"))}

    def guide() -> dict[str, Any] | None:
        """The first setup's bar on its steps' pages (after the password is set, until
        Home is reached with a destination): which step this is, and the next."""
        step = GUIDE_STEPS.get(request.endpoint or "")
        if not session.get("guide") or step is None:
            return None
        n, next_endpoint, next_label = step
        return {"n": n, "of": GUIDE_LENGTH, "next": url_for(next_endpoint),
                "next_label": t(next_label)}  # fmt: skip

    @bp.app_context_processor
    def _context() -> dict[str, Any]:
        logged_in = signed_in(deps)
        return {
            "t": t,
            "lang": lang(),
            "csrf_token": csrf_token,
            "logged_in": logged_in,
            "on_air": on_air() if logged_in else None,
            "state_sets": STATE_SETS,
            "guide": guide() if logged_in else None,
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
                session["guide"] = True  # the first setup's steps, shown until it is done
                return redirect(url_for("web.welcome"))
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
        out = {"advice": text("advice"), "hotspot": text("hotspot"),
               "warnings": warnings if "warnings" in said else st.get("warnings", [])}  # fmt: skip
        state = State(st["state"])
        if state in ERROR_STATES:
            # An error that stays (its cause not known to be fixed: Conductor._recheck)
            # says it is the last attempt's, and when that was (the kit's clock).
            at = time.strftime("%H:%M", time.localtime(time.time() - float(st["since_s"])))
            attempt = strings.get(language, "home.last_attempt", at=at)
            out["advice"] = f"{attempt} {out['advice']}".strip()
        if "destination" in st.get("missing", ()):
            out["missing"] = strings.get(language, "home.no_destination")
            out["missing_hint"] = strings.get(language, "home.no_destination_hint")
        last = st.get("last_session")
        if isinstance(last, dict) and state not in ON_AIR_STATES:
            out |= last_broadcast(last, language)
        return out

    def last_broadcast(last: dict[str, Any], language: str) -> dict[str, Any]:
        """The broadcast that ended last, with a link to its recording; nothing for an
        attempt that never went on air (it left no record) or a deleted one."""
        try:
            rec = deps.store.session(int(last["session_id"]))
        except (KeyError, TypeError, ValueError):
            return {}
        if rec is None or rec.ended_at is None:
            return {}
        duration = _clock(max(0.0, rec.ended_at - rec.started_at))
        return {"last": strings.get(language, "home.last_broadcast", duration=duration),
                "last_url": RECORDING_URL.format(id=rec.id),
                "last_link": strings.get(language, "home.last_recording")}  # fmt: skip

    @bp.get("/")
    def home() -> Any:
        st = live_status(lang())
        if not st.get("missing"):
            session.pop("guide", None)  # the first setup is done: no more step bars
        return page("home.html", status=st)

    @bp.get("/welcome")
    def welcome() -> Any:
        """The first setup after the password: destination, title, checklist, each a step
        on its own page with a bar to the next (works without JS)."""
        cfg = deps.settings.current()
        return page(
            "welcome.html",
            server=cfg.stream.server,
            key_masked=cfg.stream.key.masked(),
            title=cfg.broadcast.title,
        )

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
                    # An event, not a comment: the page's script sees it, and calls the kit
                    # lost when neither comes for 20 s (a frozen kit keeps the socket open).
                    last_sent = deps.clock()
                    yield "event: heartbeat\ndata: 1\n\n"
                conductor.wait_for_change(version, 1.0 if ticking else SSE_HEARTBEAT_S)
            # A planned end: the page opens a new stream at once, without calling it lost.
            yield "event: again\ndata: 1\n\n"

        return Response(
            stream(),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # -- forms: Post/Redirect/Get ----------------------------------------------------
    # Each form names its own route (action=...), so a page shown after another form's
    # POST never sends a form to the wrong address. A saved form answers with a redirect
    # to its page (303) and a one-shot note in the session, so a reload shows the page and
    # never sends the form again; a refused form is shown again at once (400), with what
    # was typed and the message next to its field (nothing saved).

    def saved(endpoint: str, section: str = "note") -> Response:
        flash("saved", section)
        anchor = "" if section == "note" else f"#{section}"
        return redirect(url_for(endpoint) + anchor, 303)

    def flashed() -> dict[str, str]:
        """The one-shot notes for this page, by section ("note": the page's main form)."""
        return {section: t(key) for section, key in get_flashed_messages(with_categories=True)}

    # -- destination -------------------------------------------------------------
    # Test connection is a second submit button of the same form (formaction), so one
    # press sends what is typed, server and key, to the test, and the typed values are
    # what gets tested (an empty key: the saved one). The test saves nothing. With the
    # page's script, it runs in the background (web/static/forms.js) and the form stays
    # as typed, key included, ready for Save. Without it, the page comes back with the
    # typed server and platform; the key is a secret and never sent back to the browser,
    # so the note says that the typed key was used and must be pasted again to save.

    def destination_view(errors: dict[str, str], form: dict[str, str], note: str = "",
                         note_class: str = "ok", code: int = 200) -> Response:  # fmt: skip
        cfg = deps.settings.current()
        chosen = form.get("preset") or deps.settings.page()["preset"]
        return page(
            "destination.html", code,
            presets=PRESETS, preset=BY_ID.get(chosen, BY_ID["custom"]),
            server=form.get("server", cfg.stream.server),
            key_masked=cfg.stream.key.masked(), errors=errors, note=note, note_class=note_class,
        )  # fmt: skip

    def destination_form() -> tuple[str, str, str]:
        """(preset, server, key) as typed: trimmed, a key pasted on the URL's end split off."""
        preset = request.form.get("preset", "custom")
        server, key = split_paste(
            request.form.get("server", ""), request.form.get("key", ""),
            preset if preset in BY_ID else "custom",
        )  # fmt: skip
        return preset, server, key

    @bp.get("/destination")
    def destination() -> Any:
        return destination_view({}, {}, note=flashed().get("note", ""))

    @bp.post("/destination")
    def destination_save() -> Any:
        preset, server, key = destination_form()
        typed = {"server": server, "preset": preset if preset in BY_ID else ""}
        if preset not in BY_ID:
            errors = {"preset": t("destination.unknown_preset")}
            return destination_view(errors, typed, code=400)
        changes: dict[str, Any] = {"stream.server": server}
        if key:  # an empty key field keeps the saved key
            changes["stream.key"] = key
        try:
            deps.settings.update(changes, {"preset": preset})
        except SettingsError as e:
            errors = field_errors(e)
            # The key is never shown again: say that a typed one must be pasted again.
            note = t("destination.key_again") if key and "stream.key" not in errors else ""
            return destination_view(errors, typed, note=note, note_class="err", code=400)
        return saved("web.destination")

    @bp.post("/destination/test")
    def destination_test() -> Any:
        preset, server, key = destination_form()
        cfg = deps.settings.current()
        if "server" not in request.form:  # a bare POST (no form): the saved destination
            server, preset = cfg.stream.server, deps.settings.page()["preset"]
        typed = {"server": server, "preset": preset if preset in BY_ID else ""}
        errors: dict[str, str] = {}
        if preset not in BY_ID:
            errors["preset"] = t("destination.unknown_preset")
        # The rules Save applies (kit.config's), so a test never probes what Save refuses.
        for name, value, rule in (("stream.server", server, dest.parse_server),
                                  ("stream.key", key, dest.check_key)):  # fmt: skip
            try:
                if value:
                    rule(value)
            except dest.DestinationError as e:
                errors[name] = strings.error(lang(), e.message)  # never echoes the key
        wants_json = request.accept_mimetypes.best == "application/json"
        if errors:
            if wants_json:
                return jsonify(ok=False, errors=errors), 400
            return destination_view(errors, typed, note_class="err", code=400)
        # The same probe as the pre-flight's ``ingest`` check, on the typed values.
        result = conductor.test_destination(server, key)
        said = strings.error(lang(), result.said or result.message)
        note_class = {Level.OK: "ok", Level.WARN: "warn"}.get(result.status, "err")
        as_saved = (server, preset) == (cfg.stream.server, deps.settings.page()["preset"])
        note = said if as_saved and not key else f"{said} {t('destination.tested_not_saved')}"
        if wants_json:  # web/static/forms.js: the form stays as typed
            return jsonify(ok=result.status is Level.OK, note=note, note_class=note_class)
        if key:
            note = f"{note} {t('destination.tested_key_again')}"
        return destination_view({}, typed, note=note, note_class=note_class)

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
        return broadcast_view({}, {}, note=flashed().get("note", ""))

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
        return saved("web.broadcast")

    # -- picture and sound ---------------------------------------------------------

    def picture_view(errors: dict[str, str], typed: dict[str, str] | None = None,
                     notes: dict[str, str] | None = None, code: int = 200) -> Response:  # fmt: skip
        """The page; ``typed``: the picture form as sent (a refused one is shown as typed)."""
        cfg = deps.settings.current()
        s = cfg.stream
        saved_values = {"video": f"{s.width}x{s.height}", "fps": str(s.fps),
                        "bitrate": str(s.bitrate_kbps), "device": cfg.audio.device}  # fmt: skip
        form = {**saved_values, **(typed or {})}
        notes = notes or {}
        return page(
            "picture.html", code,
            video=form["video"], fps=form["fps"], bitrate=form["bitrate"],
            device=form["device"], presets=VIDEO_PRESETS,
            fps_choices=FPS_CHOICES, errors=errors, note=notes.get("note", ""),
            light_note=notes.get("light", ""),
            has_snapshot=deps.snapshot is not None,
            light_mode=cfg.light.mode, light_modes=LIGHT_MODES,
            light=public_status(conductor.status())["light"],
        )  # fmt: skip

    @bp.get("/picture")
    def picture() -> Any:
        return picture_view({}, notes=flashed())

    @bp.post("/picture")
    def picture_save() -> Any:
        typed = {k: request.form.get(k, "") for k in ("video", "fps", "bitrate", "device")}
        errors: dict[str, str] = {}
        video = typed["video"]
        if video not in VIDEO_PRESETS:
            errors["stream.width"] = t("picture.bad_video")
        values: dict[str, Any] = {"audio.device": typed["device"].strip()}
        for name, key in (("fps", "stream.fps"), ("bitrate", "stream.bitrate_kbps")):
            raw = typed[name].strip()
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
            return picture_view(errors, typed, code=400)
        return saved("web.picture")

    @bp.post("/picture/light")
    def light_save() -> Any:
        try:
            deps.settings.update({"light.mode": request.form.get("mode", "")})
        except SettingsError as e:
            return picture_view(field_errors(e), code=400)
        conductor.set_light()  # the new mode shows at once
        return saved("web.picture", "light")

    @bp.post("/picture/light/switch")
    def light_switch() -> Any:
        on = request.form.get("on", "")
        if on not in ("0", "1"):
            abort(400)
        conductor.set_light(on == "1")
        return redirect(url_for("web.picture") + "#light")

    @bp.get("/snapshot.jpg")
    def snapshot() -> Any:
        """One frame whenever the camera can give one, idle or live (the camera process
        snapshots beside a feed); else 404 with why, in the visitor's language."""
        if deps.snapshot is None:
            abort(404, t("picture.no_preview"))
        jpeg = deps.snapshot()
        if jpeg is None:
            st = conductor.status()
            # The camera's problem leads the status's warnings (Conductor.status).
            said = (st.get("i18n") or {}).get("warnings", [])
            camera_said = said[:1] if not st["camera"]["ok"] else []
            abort(404, strings.said(lang(), camera_said) if camera_said else t("picture.no_frame"))
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
