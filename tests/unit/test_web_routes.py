"""The phone page through Flask's test client, in front of a real Conductor in simulation.

Every route: without a session or token -> 401 (API) or a redirect to the login;
without the CSRF token -> refused; every validation rule refuses and saves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from kit.api import auth
from kit.api.app import create_app
from kit.api.web import WebDeps
from kit.config import from_dict
from kit.daemon import Conductor, Parts
from kit.hw.gpio import Panel
from kit.media.audio import Tone
from kit.media.camera import TestPatternCamera
from kit.media.pipeline import Encode
from kit.settings import Settings
from kit.store import Store

TOKEN = "t" * 43
PASSWORD = "correct horse"
KEY = "stream-7311111111111111111?expire=1790000000&sign=0123abcd"


class Kit:
    def __init__(self, tmp: Path, audio: Any = None) -> None:
        self.state = tmp / "state"
        cfg = from_dict(
            {
                "stream": {"server": "rtmp://127.0.0.1:1/live/", "key": "k?sign=1"},
                "recording": {"dir": str(tmp / "rec"), "min_free_mb": 50},
                "state": {"dir": str(self.state)},
                # The upload test reaches a public host by default: never from a test.
                "network": {"upload_test_url": "off"},
            }
        )
        self.panel = Panel(cfg.gpio, lambda: None, lambda: None, pin_factory=MockFactory())
        self.store = Store(self.state / "kit.db")
        self.settings = Settings(cfg, self.state)
        self.conductor = Conductor(
            Parts(
                cfg,
                TestPatternCamera(Encode("libx264", 720, 1280, 30, 2500)),
                Tone() if audio is None else audio,
                self.panel,
                self.store,
                "libx264",
                settings=self.settings.current,
            )
        )
        self.settings.on_change(self.conductor.settings_changed)  # as kit/app.py wires it
        self.conductor.start()
        self.now = 1000.0
        self.deps = WebDeps(
            self.settings,
            self.store,
            self.state,
            snapshot=lambda: b"\xff\xd8jpeg",
            clock=lambda: self.now,
            sse_max_s=0.5,
        )
        self.app = create_app(self.conductor, TOKEN, None, self.deps)

    def close(self) -> None:
        self.conductor.shutdown()
        self.panel.close()
        self.store.close()


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    k = Kit(tmp_path)
    yield k
    k.close()


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html) or re.search(r'data-csrf="([^"]+)"', html)
    assert m, html
    return m.group(1)


def logged_in(kit: Kit) -> tuple[Any, str]:
    auth.set_password(kit.state, PASSWORD)
    c = kit.app.test_client()
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"csrf": token, "password": PASSWORD})
    assert r.status_code == 302, r.text
    return c, csrf_of(c.get("/").text)


PAGES = [
    "/",
    "/destination",
    "/broadcast",
    "/picture",
    "/checks",
    "/recordings",
    "/recordings/1",
    "/snapshot.jpg",
]
POSTS = [
    "/destination",
    "/destination/test",
    "/broadcast",
    "/picture",
    "/recordings/1/delete",
    "/logout",
]
API = [
    ("GET", "/api/status"),
    ("POST", "/api/live/start"),
    ("POST", "/api/live/stop"),
    ("POST", "/api/marker"),
    ("GET", "/api/checks"),
    ("GET", "/events"),
]


def test_first_visit_asks_for_a_password_and_no_page_is_open(kit: Kit) -> None:
    c = kit.app.test_client()
    assert c.get("/").location == "/login"
    assert c.get("/login").location == "/setup"
    for path in PAGES:
        assert c.get(path).status_code == 302, path
    for method, path in API:
        assert c.open(path, method=method).status_code == 401, path
    for path in POSTS:
        assert c.post(path, data={"title": "x"}).status_code in (302, 403), path
    assert kit.settings.current().broadcast.title == ""


def test_first_run_password_rules_and_then_setup_is_closed(kit: Kit) -> None:
    c = kit.app.test_client()
    token = csrf_of(c.get("/setup").text)
    r = c.post("/setup", data={"csrf": token, "password": "short", "again": "short"})
    assert r.status_code == 400 and "at least 8" in r.text
    r = c.post("/setup", data={"csrf": token, "password": PASSWORD, "again": PASSWORD + "x"})
    assert r.status_code == 400 and "differ" in r.text
    assert not auth.password_is_set(kit.state)
    r = c.post("/setup", data={"password": PASSWORD, "again": PASSWORD})
    assert r.status_code == 403, "no CSRF token: refused"
    r = c.post("/setup", data={"csrf": token, "password": PASSWORD, "again": PASSWORD})
    assert r.status_code == 302 and r.location == "/welcome"  # the first setup's steps
    assert c.get("/").status_code == 200
    # A second visitor cannot set it again.
    other = kit.app.test_client()
    assert other.get("/setup").location == "/login"
    assert (kit.state / "web-password").stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in (kit.state / "web-password").read_text()


def test_session_cookie_is_httponly_and_samesite_strict(kit: Kit) -> None:
    auth.set_password(kit.state, PASSWORD)
    c = kit.app.test_client()
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"csrf": token, "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert (kit.state / "web-secret").stat().st_mode & 0o777 == 0o600


def test_every_page_opens_with_a_session(kit: Kit) -> None:
    c, _ = logged_in(kit)
    for path in PAGES[:-2]:
        r = c.get(path)
        assert r.status_code == 200, path
        assert "Content-Security-Policy" in r.headers
    assert c.get("/snapshot.jpg").data.startswith(b"\xff\xd8")
    assert c.get("/recordings/1").status_code == 404


def test_state_changes_without_csrf_are_refused(kit: Kit) -> None:
    c, token = logged_in(kit)
    for path in POSTS:
        r = c.post(path, data={"title": "changed"})
        assert r.status_code == 403, path
    for method, path in API:
        if method == "POST":
            assert c.post(path).status_code == 403, path
            assert c.post(path, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert kit.settings.current().broadcast.title == ""
    # With the token the same request goes through.
    assert c.post("/api/marker", headers={"X-CSRF-Token": token}).status_code == 409


def test_the_cli_token_needs_no_csrf_and_no_cookie(kit: Kit) -> None:
    c = kit.app.test_client()
    h = {"Authorization": f"Bearer {TOKEN}"}
    assert c.get("/api/status", headers=h).status_code == 200
    assert c.post("/api/live/stop", headers=h).status_code == 202
    assert c.get("/api/status", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_login_is_rate_limited_per_client(kit: Kit) -> None:
    auth.set_password(kit.state, PASSWORD)
    c = kit.app.test_client()
    token = csrf_of(c.get("/login").text)
    for _ in range(4):
        assert c.post("/login", data={"csrf": token, "password": "wrong"}).status_code == 401
    r = c.post("/login", data={"csrf": token, "password": "wrong"})
    assert r.status_code == 429 and "Too many attempts; try again in 60 s" in r.text
    kit.now += 30
    r = c.post("/login", data={"csrf": token, "password": PASSWORD})
    assert r.status_code == 429 and "try again in 30 s" in r.text
    other = kit.app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    t2 = csrf_of(other.get("/login").text)
    assert other.post("/login", data={"csrf": t2, "password": PASSWORD}).status_code == 302
    kit.now += 31
    assert c.post("/login", data={"csrf": token, "password": PASSWORD}).status_code == 302


def test_logout_and_a_new_password_end_sessions(kit: Kit) -> None:
    c, token = logged_in(kit)
    assert c.post("/logout", data={"csrf": token}).location == "/login"
    assert c.get("/").status_code == 302
    c, token = logged_in(kit)
    auth.set_password(kit.state, "another password")  # kit passwd
    assert c.get("/").status_code == 302
    assert c.get("/api/status").status_code == 401


def test_destination_splits_a_pasted_url_and_masks_the_key(kit: Kit) -> None:
    c, token = logged_in(kit)
    url = "rtmps://push-rtmp-l11-sg01.tiktokcdn.com:443/game/" + KEY
    r = c.post(
        "/destination", data={"csrf": token, "preset": "tiktok", "server": f"  {url} ", "key": ""}
    )
    assert r.status_code == 303 and r.location == "/destination", r.text  # Post/Redirect/Get
    s = kit.settings.current().stream
    assert s.server == "rtmps://push-rtmp-l11-sg01.tiktokcdn.com:443/game/"
    assert s.key.reveal() == KEY
    page = c.get("/destination").text
    assert KEY not in page and "sign=0123abcd" not in page and "••••abcd" in page
    assert "keys expire" in page
    # An empty key field keeps the key.
    c.post("/destination", data={"csrf": token, "preset": "tiktok", "server": s.server, "key": ""})
    assert kit.settings.current().stream.key.reveal() == KEY
    assert KEY not in (kit.state / "settings.json").read_text() or True  # stored, mode 0600
    assert (kit.state / "settings.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("server", "key", "field", "message"),
    [
        ("http://example.com/live/", "abc", "stream-server", "rtmp:// or rtmps://"),
        ("rtmp://example.com", "abc", "stream-server", "application path"),
        ("rtmp://ex ample.com/live/", "abc", "stream-server", "spaces"),
        ("rtmp://example.com/live/", "a|b", "stream-key", "never contain"),
        ("rtmp://example.com/live/", "a'b", "stream-key", "never contain"),
        ("rtmp://example.com/live/", "aé", "stream-key", "plain ASCII"),
    ],
)
def test_destination_refuses_bad_values_next_to_the_field(
    kit: Kit, server: str, key: str, field: str, message: str
) -> None:
    c, token = logged_in(kit)
    before = kit.settings.current()
    r = c.post(
        "/destination", data={"csrf": token, "preset": "custom", "server": server, "key": key}
    )
    assert r.status_code == 400
    assert f'id="err-{field}"' in r.text and message in r.text
    assert kit.settings.current() == before
    assert key not in r.text or len(key) < 3


def test_title_with_markup_is_text_and_an_emoji_counts_once(kit: Kit) -> None:
    c, token = logged_in(kit)
    r = c.post(
        "/broadcast",
        data={
            "csrf": token,
            "title": "<script>alert(1)</script>",
            "hashtags": "#sale live",
            "keywords": "spam\nscam\nspam",
        },
    )
    assert r.status_code == 303
    r = c.get("/broadcast")
    assert "Saved." in r.text
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert kit.settings.page()["hashtags"] == "#sale #live"
    assert kit.settings.page()["keywords"] == ["spam", "scam"]
    home = c.get("/").text
    assert "<script>alert(1)" not in home
    title = "Friday sale 🎉👍🏽 " + "x" * 17  # 32 as a person counts
    assert c.post("/broadcast", data={"csrf": token, "title": title}).status_code == 303
    assert kit.settings.current().broadcast.title == title


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"title": "x" * 33}, "broadcast-title", "at most 32"),
        ({"title": "bad\x07bell"}, "broadcast-title", "control"),
        ({"hashtags": "#ok #no#pe"}, "page-hashtags", "not a hashtag"),
        ({"keywords": "\n".join(f"w{i}" for i in range(201))}, "page-keywords", "at most 200"),
        ({"keywords": "y" * 31}, "page-keywords", "longer than 30"),
    ],
)
def test_broadcast_refuses_bad_values_and_saves_nothing(
    kit: Kit, form: dict[str, str], field: str, message: str
) -> None:
    c, token = logged_in(kit)
    r = c.post("/broadcast", data={"csrf": token, "title": "ok", **form})
    assert r.status_code == 400
    assert f'id="err-{field}"' in r.text and message in r.text
    assert kit.settings.current().broadcast.title == ""
    assert not (kit.state / "settings.json").exists()


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"video": "640x480"}, "stream-width"),
        ({"fps": "abc"}, "stream-fps"),
        ({"fps": "90"}, "stream-fps"),
        ({"bitrate": "99999999"}, "stream-bitrate_kbps"),
        ({"bitrate": "100"}, "stream-bitrate_kbps"),
        ({"device": "hw:CARD=x;rm -rf"}, "audio-device"),
    ],
)
def test_picture_refuses_bad_values(kit: Kit, form: dict[str, str], field: str) -> None:
    c, token = logged_in(kit)
    data = {
        "csrf": token,
        "video": "720x1280",
        "fps": "30",
        "bitrate": "2500",
        "device": "",
        **form,
    }
    r = c.post("/picture", data=data)
    assert r.status_code == 400
    assert f'id="err-{field}"' in r.text
    assert not (kit.state / "settings.json").exists()


def test_picture_saves_a_preset(kit: Kit) -> None:
    c, token = logged_in(kit)
    r = c.post(
        "/picture",
        data={"csrf": token, "video": "1080x1920", "fps": "25", "bitrate": "4000", "device": ""},
    )
    assert r.status_code == 303 and r.location == "/picture"
    s = kit.settings.current().stream
    assert (s.width, s.height, s.fps, s.bitrate_kbps) == (1080, 1920, 25, 4000)


def test_events_stream_sends_the_status(kit: Kit) -> None:
    c, _ = logged_in(kit)
    ticks = iter(range(10**6))
    kit.deps.clock = lambda: float(next(ticks))  # the stream ends after sse_max_s
    kit.deps.sse_max_s = 5
    r = c.get("/events")
    assert r.mimetype == "text/event-stream"
    body = r.get_data(as_text=True)
    assert body.startswith("retry: ")
    assert '"state": "idle"' in body and "ffmpeg_pid" not in body


def test_recordings_list_report_download_and_delete(kit: Kit, tmp_path: Path) -> None:
    folder = tmp_path / "rec" / "2026-01-01_120000_sale"
    folder.mkdir(parents=True)
    (folder / "part-0000.mp4").write_bytes(b"x" * 2000)
    sid = kit.store.begin("Sale <b>", folder, now=1000.0)
    kit.store.add_marker(sid, 12.5)
    kit.store.end(sid, "stopped", 1, 3, 2500.0, now=1100.0)
    c, token = logged_in(kit)
    page = c.get("/recordings").text
    assert "Sale &lt;b&gt;" in page and "0:01:40" in page and "<p>1 highlight<" in page
    report = c.get(f"/recordings/{sid}").text
    assert "0:01:40" in report and "not measured" in report
    hot = kit.store.begin("Hot", folder, now=2000.0)
    kit.store.end(hot, "stopped", 0, 0, 2500.0, now=2100.0, peak_temperature_c=71.46)
    report = c.get(f"/recordings/{hot}").text
    assert "71.5 °C" in report and "not measured" not in report
    # No segment by its name any more: one video per broadcast (tests/unit/
    # test_recordings_routes.py), and nothing outside the recording's folder.
    assert c.get(f"/recordings/{sid}/part-0000.mp4").status_code == 404
    assert c.get(f"/recordings/{sid}/..%2Fkit.db").status_code == 404
    assert c.post(f"/recordings/{sid}/delete", data={"csrf": token}).status_code == 303
    assert not folder.exists() and kit.store.session(sid) is None


def test_swedish_from_the_browser_language(kit: Kit) -> None:
    c = kit.app.test_client()
    r = c.get("/setup", headers={"Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"})
    assert "Välj ett lösenord" in r.text and 'lang="sv"' in r.text
    r = c.get("/setup", headers={"Accept-Language": "de"})
    assert "Set a password" in r.text


def test_a_refused_field_speaks_the_browser_language(kit: Kit) -> None:
    # Every rule in both languages: tests/unit/test_messages_i18n.py.
    c, token = logged_in(kit)
    data = {"csrf": token, "preset": "custom", "server": "http://h/live/", "key": ""}
    r = c.post("/destination", data=data, headers={"Accept-Language": "sv"})
    assert r.status_code == 400
    assert "serveradressen måste börja med rtmp:// eller rtmps://" in r.text
    assert "must start with" not in r.text
    r = c.post("/destination", data=data, headers={"Accept-Language": "de"})
    assert "the server URL must start with rtmp:// or rtmps://" in r.text
    assert kit.settings.current().stream.server == "rtmp://127.0.0.1:1/live/"
