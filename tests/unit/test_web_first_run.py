"""The page never misleads (issue 10, items 1 and 4), through Flask's test client in front
of a real Conductor in simulation: the first setup's steps after the password; Home says
what is missing instead of "Ready"; an error clears when its cause is fixed, or says it is
the last attempt's; Cancel during the countdown; the last broadcast with its recording; the
live banner on every page; the preview while live; the event stream's heartbeat; one h1 on
every page. The same in the browser: tests/e2e/test_first_visit_e2e.py."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kit.machine import State, Status
from tests.unit.test_web_routes import PASSWORD, Kit, csrf_of, logged_in

SV = {"Accept-Language": "sv-SE,sv;q=0.9"}


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    k = Kit(tmp_path)
    yield k
    k.close()


def no_destination(kit: Kit) -> None:
    kit.settings.update({"stream.server": "", "stream.key": ""})


def put(kit: Kit, state: State, message: str = "") -> None:
    """Set the conductor's state as the machine would have (the tests of the machine's
    table: tests/unit/test_machine.py), with the destination this 'attempt' used."""
    c = kit.conductor
    with c._changed:
        c._status = Status(state, message)
        c._since = c._clock()
        c._tried = c._destination()
        c._version += 1
        c._changed.notify_all()


def wait_for(kit: Kit, state: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = kit.conductor.status()
        if st["state"] == state:
            return st
        time.sleep(0.05)
    raise AssertionError(f"never {state}: {kit.conductor.status()['state']}")


def tag(html: str, id_: str) -> str:
    m = re.search(rf'<[a-z0-9]+ id="{id_}"[^>]*>', html)
    assert m, id_
    return m.group(0)


def text_of(html: str, id_: str) -> str:
    m = re.search(rf'<([a-z0-9]+) id="{id_}"[^>]*>(.*?)</\1>', html, re.S)
    assert m, id_
    return re.sub(r"<[^>]+>", "", m.group(2)).strip()


# -- first run -------------------------------------------------------------------------


def test_after_the_password_the_first_setup_walks_destination_title_checklist(kit: Kit) -> None:
    no_destination(kit)
    c = kit.app.test_client()
    token = csrf_of(c.get("/setup").text)
    r = c.post("/setup", data={"csrf": token, "password": PASSWORD, "again": PASSWORD})
    assert r.location == "/welcome"
    welcome = c.get("/welcome").text
    assert "Set up your kit" in welcome
    for link in ("/destination", "/broadcast", "/checks", "/"):
        assert f'href="{link}"' in welcome
    # Each step's page has a bar to the next, without JS.
    bars = {"/destination": ("step 1 of 3", "/broadcast", "Next: the title"),
            "/broadcast": ("step 2 of 3", "/checks", "Next: the checklist"),
            "/checks": ("step 3 of 3", "/", "Done: go to Home")}  # fmt: skip
    for path, (step, nxt, label) in bars.items():
        page = c.get(path).text
        assert step in page and f'href="{nxt}">{label}</a>' in page, path
    # Home says what is missing, offers the destination, and no Go live that can only fail.
    home = c.get("/").text
    assert text_of(home, "state") == "No destination yet"
    assert "Ready" not in text_of(home, "state")
    assert " hidden" not in tag(home, "setup") and 'href="/destination"' in tag(home, "setup")
    assert " hidden" in tag(home, "go")
    assert kit.conductor.status()["missing"] == ["destination"]
    # A destination saved: the kit is ready, and the steps' bars are gone.
    kit.settings.update({"stream.server": "rtmp://127.0.0.1:1/live/", "stream.key": "k?sign=1"})
    welcome = c.get("/welcome").text
    assert "rtmp://127.0.0.1:1/live/" in welcome and "••••" in welcome
    home = c.get("/").text
    assert text_of(home, "state") == "Ready"
    assert " hidden" in tag(home, "setup") and " hidden" not in tag(home, "go")
    assert "step 1 of 3" not in c.get("/destination").text
    assert kit.conductor.status()["missing"] == []


def test_the_first_setup_in_swedish(kit: Kit) -> None:
    no_destination(kit)
    c, _ = logged_in(kit)
    home = c.get("/", headers=SV).text
    assert text_of(home, "state") == "Inget mål ännu"
    assert "Ställ in ditt kit" in c.get("/welcome", headers=SV).text


# -- never stale ---------------------------------------------------------------------


@pytest.mark.parametrize("state", [State.KEY_REJECTED, State.SERVER_UNREACHABLE])
def test_a_new_destination_clears_an_error_about_the_old_one(kit: Kit, state: State) -> None:
    put(kit, state, "End of file")
    c, _ = logged_in(kit)
    home = c.get("/").text
    assert text_of(home, "state") != "Ready"
    assert re.match(r"Last attempt \d\d:\d\d: ", text_of(home, "advice"))
    # Saving something else (the title) is no fix; a new key is.
    kit.settings.update({"broadcast.title": "Sale"})
    assert kit.conductor.status()["state"] == state.value
    kit.settings.update({"stream.key": "a-new-key?sign=2"})
    assert kit.conductor.status()["state"] == "idle"  # at once, not at the next press
    home = c.get("/").text
    assert text_of(home, "state") == "Ready" and text_of(home, "advice") == ""


def test_a_failed_check_about_the_server_clears_with_a_new_server(kit: Kit) -> None:
    # The real pre-flight: nothing listens on 127.0.0.1:1.
    kit.conductor.press()
    st = wait_for(kit, "check_failed", 30)
    assert st["checks"] and any(r["id"] == "ingest" and r["status"] == "fail" for r in st["checks"])
    kit.settings.update({"stream.server": "rtmp://127.0.0.1:2/live/"})
    assert kit.conductor.status()["state"] == "idle"


def test_a_failed_check_clears_when_the_checklist_passes(kit: Kit) -> None:
    from kit.checks import Level, Result

    put(kit, State.CHECK_FAILED, "Only 10 MB free")
    kit.conductor._p.checks = [lambda ctx: Result("disk", Level.OK, "fine")]
    c, _ = logged_in(kit)
    assert "Last attempt" in text_of(c.get("/").text, "advice")
    c.get("/checks")
    assert kit.conductor.status()["state"] == "idle"


def test_an_error_that_stays_says_it_is_the_last_attempts_with_its_time(kit: Kit) -> None:
    put(kit, State.CAMERA_FAILED)
    kit.settings.update({"stream.key": "another?sign=3"})  # no fix for a camera
    c, _ = logged_in(kit)
    advice = text_of(c.get("/").text, "advice")
    assert re.fullmatch(r"Last attempt \d\d:\d\d: The camera stopped working\..*", advice), advice
    sv = text_of(c.get("/", headers=SV).text, "advice")
    assert re.match(r"Senaste försöket \d\d:\d\d: Kameran", sv), sv
    assert kit.conductor.status()["state"] == "camera_failed"


def test_during_the_countdown_the_button_is_cancel_and_stop_cancels(kit: Kit) -> None:
    put(kit, State.COUNTDOWN)
    c, token = logged_in(kit)
    home = c.get("/").text
    end = tag(home, "end")
    assert " hidden" not in end and 'data-cancel="Cancel"' in end
    assert text_of(home, "end") == "Cancel"
    assert " hidden" in tag(home, "mark") and " hidden" in tag(home, "go")
    assert 'data-cancel="Avbryt"' in tag(c.get("/", headers=SV).text, "end")
    r = c.post("/api/live/stop", headers={"X-CSRF-Token": token})
    assert r.status_code == 202
    wait_for(kit, "idle")


def test_after_a_broadcast_home_shows_its_duration_and_its_recording(kit: Kit) -> None:
    sid = kit.store.begin("Sale", kit.state / "rec-folder", now=1000.0)
    kit.store.end(sid, "stopped", 0, 0, 2500.0, now=1100.0)
    kit.conductor._last_session = {"session_id": sid, "duration_s": 101.0, "end": "stopped"}
    c, _ = logged_in(kit)
    home = c.get("/").text
    assert " hidden" not in tag(home, "last")
    assert text_of(home, "last").startswith("Last broadcast: 0:01:40.")
    assert f'href="/recordings/{sid}"' in tag(home, "last-link")
    assert c.get(f"/recordings/{sid}").status_code == 200  # the link opens its page
    assert "Senaste sändningen: 0:01:40." in c.get("/", headers=SV).text
    # An attempt that never went on air left no record: nothing to link to.
    kit.conductor._last_session = {"session_id": sid + 1, "duration_s": 3.0, "end": "stopped"}
    assert " hidden" in tag(c.get("/").text, "last")


@pytest.mark.parametrize("state", [State.CONNECTING, State.LIVE, State.RECONNECTING])
def test_every_page_shows_the_live_banner_while_on_air(kit: Kit, state: State) -> None:
    c, _ = logged_in(kit)
    put(kit, state)
    for path in ("/destination", "/broadcast", "/picture", "/checks", "/recordings", "/welcome"):
        page = c.get(path).text
        assert " hidden" not in tag(page, "live-banner"), path
    assert 'id="live-banner"' not in c.get("/").text  # Home says it in full
    put(kit, State.IDLE)
    assert " hidden" in tag(c.get("/broadcast").text, "live-banner")
    put(kit, state)
    assert (
        text_of(c.get("/broadcast").text, "live-banner-state")
        == {
            State.CONNECTING: "Connecting…",
            State.LIVE: "LIVE",
            State.RECONNECTING: "Reconnecting…",
        }[state]
    )


def test_the_preview_works_while_live_and_says_why_when_there_is_none(kit: Kit) -> None:
    c, _ = logged_in(kit)
    put(kit, State.LIVE)
    r = c.get("/snapshot.jpg")
    assert r.status_code == 200 and r.data.startswith(b"\xff\xd8")
    kit.deps.snapshot = lambda: None
    r = c.get("/snapshot.jpg", headers=SV)
    assert r.status_code == 404 and r.json["error"].startswith("Ingen bild från kameran")
    kit.deps.snapshot = None
    assert c.get("/snapshot.jpg").status_code == 404


def test_the_event_stream_beats_and_ends_with_a_planned_reconnect(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, _ = logged_in(kit)
    monkeypatch.setattr(kit.conductor, "wait_for_change", lambda version, timeout: version)
    ticks = iter(range(0, 10**6, 16))  # each look at the clock: 16 s later
    kit.deps.clock = lambda: float(next(ticks))
    kit.deps.sse_max_s = 100
    body = c.get("/events").get_data(as_text=True)
    assert "event: heartbeat\ndata: 1\n\n" in body  # an event the page's script sees
    assert body.endswith("event: again\ndata: 1\n\n")


PAGES = ["/", "/welcome", "/destination", "/broadcast", "/picture", "/network", "/checks",
         "/recordings"]  # fmt: skip


def test_every_page_has_one_level_one_heading(kit: Kit) -> None:
    c = kit.app.test_client()
    assert len(re.findall(r"<h1\b", c.get("/setup").text)) == 1
    c, _ = logged_in(kit)
    for path in PAGES:
        assert len(re.findall(r"<h1\b", c.get(path).text)) == 1, path
    no_destination(kit)
    assert len(re.findall(r"<h1\b", c.get("/").text)) == 1
    assert len(re.findall(r"<h1\b", kit.app.test_client().get("/login").text)) == 1
