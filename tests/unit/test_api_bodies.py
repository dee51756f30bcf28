"""Bodies of the wrong type or shape, on every route that takes one, and logging out for good.

Every POST route of the app (found in its URL map, so a route added later is covered)
answers 400 with a sentence to a body it cannot take, never 500 and never a traceback in
the log, and nothing changes (no press, no state change, no setting saved). A session
cookie copied before a logout opens nothing after it; sessions survive a restart.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kit.api import body
from kit.api.app import create_app
from kit.api.web import WebDeps
from tests.unit.test_web_routes import TOKEN, Kit, csrf_of, logged_in

BEARER = {"Authorization": f"Bearer {TOKEN}"}
DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECTS = '{"a":' * 5000 + "1" + "}" * 5000

# (description, raw body, content type) a JSON route must refuse.
BAD_JSON = [
    ("an array", b"[1, 2]", "application/json"),
    ("a string", b'"hold"', "application/json"),
    ("a number", b"3", "application/json"),
    ("null", b"null", "application/json"),
    ("5000 nested arrays", DEEP.encode(), "application/json"),
    ("5000 nested objects", DEEP_OBJECTS.encode(), "application/json"),
    ("malformed JSON", b'{"hold": 1', "application/json"),
    ("not JSON at all", b"hold=1", "application/json"),
    ("NaN", b'{"hold": NaN}', "application/json"),
    ("not UTF-8", b'{"hold": "\xff"}', "application/json"),
    ("a form", b"hold=1", "application/x-www-form-urlencoded"),
    ("JSON as text/plain", b'{"hold": 1}', "text/plain"),
]
# What a page's form route must refuse.
BAD_FORMS = [
    ("a JSON object", b"{}", "application/json"),
    ("a JSON array", b"[1]", "application/json"),
    ("5000 nested arrays", DEEP.encode(), "application/json"),
    ("text", b"password=x", "text/plain"),
]


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    k = Kit(tmp_path)
    yield k
    k.close()


def post_routes(kit: Kit) -> list[str]:
    """Every POST route of the app, with 1 for each URL parameter."""
    paths = []
    for rule in kit.app.url_map.iter_rules():
        if "POST" in (rule.methods or ()):
            paths.append(re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "1", rule.rule))
    assert {"/api/press", "/api/mic/gain", "/logout", "/network/join"} <= set(paths)
    return sorted(paths)


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


def assert_refused(r: Any, what: str) -> None:
    assert r.status_code == 400, (what, r.status_code, r.get_data(as_text=True)[:300])
    said = r.get_json()["error"]
    assert isinstance(said, str) and len(said) > 10, said
    assert "Traceback" not in said


def unchanged(kit: Kit, saved: dict[str, Any]) -> None:
    time.sleep(0.05)
    assert kit.conductor.status()["state"] == "idle"
    assert kit.settings.page() == saved


@pytest.mark.parametrize(("what", "raw", "ctype"), BAD_JSON, ids=[b[0] for b in BAD_JSON])
def test_every_api_route_refuses_a_bad_body_with_400(
    kit: Kit, caplog: pytest.LogCaptureFixture, what: str, raw: bytes, ctype: str
) -> None:
    caplog.set_level(logging.DEBUG)
    c = kit.app.test_client()
    saved = kit.settings.page()
    for path in (p for p in post_routes(kit) if p.startswith("/api/")):
        r = c.post(path, data=raw, headers={**BEARER, "Content-Type": ctype})
        assert_refused(r, f"{what} to {path}")
    unchanged(kit, saved)
    no_traceback(caplog)


@pytest.mark.parametrize(("what", "raw", "ctype"), BAD_FORMS, ids=[b[0] for b in BAD_FORMS])
def test_every_page_route_refuses_a_body_that_is_not_a_form(
    kit: Kit, caplog: pytest.LogCaptureFixture, what: str, raw: bytes, ctype: str
) -> None:
    caplog.set_level(logging.DEBUG)
    c, csrf = logged_in(kit)
    saved = kit.settings.page()
    pages = [p for p in post_routes(kit) if not p.startswith("/api/")]
    for path in pages:
        r = c.post(path, data=raw, headers={"X-CSRF-Token": csrf, "Content-Type": ctype})
        assert_refused(r, f"{what} to {path}")
    unchanged(kit, saved)
    assert c.get("/").status_code == 200  # the /logout above was refused too
    no_traceback(caplog)


@pytest.mark.parametrize("value", ["3", [1], {"s": 1}, None, True, 1e309, -1, 16])
def test_wrong_field_types_are_400(
    kit: Kit, caplog: pytest.LogCaptureFixture, value: object
) -> None:
    presses: list[float] = []
    c = create_app(kit.conductor, TOKEN, presses.append).test_client()
    for path, name in (("/api/press", "hold"), ("/api/mic/gain", "percent")):
        if name == "percent" and value in (-1, 16):
            continue  # a gain of -1 is refused below; 16 % is a gain
        r = c.post(path, json={name: value}, headers=BEARER)
        assert_refused(r, f"{name}={value!r}")
    assert c.post("/api/mic/gain", json={"percent": -1}, headers=BEARER).status_code == 400
    assert presses == []
    no_traceback(caplog)


def test_malformed_json_never_presses_the_button(kit: Kit) -> None:
    presses: list[float] = []
    c = create_app(kit.conductor, TOKEN, presses.append).test_client()
    for raw in (b"{", b"not json", b"{'hold': 1}", b"[]"):
        r = c.post("/api/press", data=raw, headers={**BEARER, "Content-Type": "application/json"})
        assert r.status_code == 400, raw
    assert presses == []
    # An empty body is the default press; a JSON object with a good value presses too.
    assert c.post("/api/press", headers=BEARER).status_code == 200
    assert c.post("/api/press", json={"hold": 0.5}, headers=BEARER).status_code == 200
    assert presses == [0.15, 0.5]


def test_an_unauthenticated_bad_body_is_still_401(kit: Kit) -> None:
    c = kit.app.test_client()
    r = c.post("/api/press", data=DEEP, headers={"Content-Type": "application/json"})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("{}", False),
        ('{"a": [[[[1]]]]}', False),
        ("[" * 16 + "]" * 16, False),
        ("[" * 17 + "]" * 17, True),
        ('{"a": "' + "[" * 100 + '"}', False),  # brackets in a string do not nest
        ('{"a": "\\"' + "[" * 100 + '"}', False),  # nor after an escaped quote
        ('{"a":' * 17 + "1" + "}" * 17, True),
    ],
)
def test_depth_is_counted_outside_strings(text: str, deep: bool) -> None:
    assert body.too_deep(text, body.MAX_DEPTH) is deep


# -- logging out ------------------------------------------------------------------------


def cookie_of(client: Any) -> str:
    cookie = client.get_cookie("kit_session")
    assert cookie is not None
    return str(cookie.value)


def with_cookie(app: Any, value: str) -> Any:
    c = app.test_client()
    c.set_cookie("kit_session", value)
    return c


def test_a_copied_cookie_stops_working_after_logout(kit: Kit) -> None:
    c, csrf = logged_in(kit)
    copied = cookie_of(c)
    thief = with_cookie(kit.app, copied)
    assert thief.get("/").status_code == 200
    assert thief.get("/api/status").status_code == 200

    assert c.post("/logout", data={"csrf": csrf}).location == "/login"
    assert thief.get("/").status_code == 302
    assert thief.get("/api/status").status_code == 401
    r = thief.post("/api/live/start", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401
    assert kit.conductor.status()["state"] == "idle"
    # Logging in again makes a new session; the old cookie stays dead.
    c2, _ = logged_in(kit)
    assert c2.get("/").status_code == 200
    assert with_cookie(kit.app, copied).get("/").status_code == 302


def test_sessions_survive_a_restart_and_the_file_holds_no_cookie(kit: Kit) -> None:
    c, _ = logged_in(kit)
    value = cookie_of(c)
    # The daemon again: a new app on the same state folder.
    deps = WebDeps(kit.settings, kit.store, kit.state)
    app = create_app(kit.conductor, TOKEN, None, deps)
    assert with_cookie(app, value).get("/").status_code == 200
    sessions = kit.state / "web-sessions"
    assert sessions.stat().st_mode & 0o777 == 0o600
    from flask.sessions import SecureCookieSessionInterface

    signer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert signer is not None
    sid = signer.loads(value)["sid"]
    assert sid not in sessions.read_text()


def test_a_damaged_sessions_file_lets_nobody_in(kit: Kit) -> None:
    c, _ = logged_in(kit)
    value = cookie_of(c)
    (kit.state / "web-sessions").write_text("{not json")
    app = create_app(kit.conductor, TOKEN, None, WebDeps(kit.settings, kit.store, kit.state))
    assert with_cookie(app, value).get("/").status_code == 302


def test_sessions_expire_and_are_bounded(tmp_path: Path) -> None:
    from kit.api.auth import Sessions

    now = [1000.0]
    s = Sessions(tmp_path, max_age_s=100, limit=3, clock=lambda: now[0])
    first = s.open()
    assert s.valid(first) and not s.valid("x") and not s.valid(None)
    now[0] += 101
    assert not s.valid(first)
    ids = [s.open() for _ in range(4)]
    assert [s.valid(i) for i in ids] == [False, True, True, True]
    s.close(ids[-1])
    assert not Sessions(tmp_path, clock=lambda: now[0]).valid(ids[-1])
    assert Sessions(tmp_path, clock=lambda: now[0]).valid(ids[-2])


def test_login_page_with_a_revoked_cookie_offers_no_logout(kit: Kit) -> None:
    c, csrf = logged_in(kit)
    thief = with_cookie(kit.app, cookie_of(c))
    c.post("/logout", data={"csrf": csrf})
    html = thief.get("/login").text
    assert csrf_of(html)
    assert 'action="/logout"' not in html
