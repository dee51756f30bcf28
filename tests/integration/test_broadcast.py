"""The kit, run as a process in simulation, against a real nginx RTMP ingest.

Presses and holds go through ``kit press``: the daemon drives gpiozero's
MockFactory pin, so the real gpiozero Button decides short press or hold.
What arrived is checked with ffprobe, on the ingest's copy and on the kit's
own recording.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import psutil
import pytest

from tests.integration.kitproc import KEY, KitProcess
from tests.peers import probe
from tests.peers.ingest import Ingest, free_port

NAME = KEY.split("?")[0]
SIGN = "0123abcd"

pytestmark = pytest.mark.slow


def segments(kit: KitProcess) -> list[Path]:
    return sorted(kit.recordings.glob("*/part-*.mp4"))


def recorded_duration(kit: KitProcess) -> float:
    return sum(probe.duration(p) for p in segments(kit))


def assert_no_secret(text: str) -> None:
    assert KEY not in text
    assert f"sign={SIGN}" not in text
    assert "7311111111111111111" not in text


def go_live(kit: KitProcess) -> float:
    """Press, wait for live; returns when the countdown ended (ffmpeg starts then)."""
    kit.press()
    kit.wait_state("countdown", timeout=5)
    on_air = on_air_time(kit)
    kit.wait_state("live", timeout=15)
    return on_air


def on_air_time(kit: KitProcess) -> float:
    kit.wait_for(lambda s: s["state"] in ("connecting", "live"), 6, "end of the countdown")
    return time.monotonic()


def test_button_goes_live_marks_a_highlight_and_a_hold_ends(kit_process, ingest: Ingest) -> None:
    kit = kit_process(ingest.rtmp_url())
    assert kit.status()["light"]["relay"] is False
    kit.press()
    st = kit.wait_state("countdown", timeout=5)
    assert st["light"]["relay"] is True, "ring light on during the countdown"
    assert 0 < st["countdown_s"] <= 3
    live_at = on_air_time(kit)
    live_at_status = kit.wait_state("live", timeout=10)
    assert live_at_status["light"]["relay"] is True

    # The key reached the server byte for byte, query parameters included.
    pub = ingest.wait_for_publish(timeout=5)
    assert pub["name"] == NAME
    assert pub["expire"] == "4102444800"
    assert pub["sign"] == SIGN
    assert pub["_raw"].endswith("&name=" + KEY.replace("?", "&type=live&"))

    time.sleep(3)
    kit.press()  # short press while live: a highlight
    kit.wait_for(lambda s: s.get("markers") == 1, 5, "marker")
    time.sleep(4)
    kit.press(hold=3)  # 3 s hold while live: end
    ended = kit.wait_state("idle", timeout=15)
    live_for = time.monotonic() - live_at
    assert ended["light"]["relay"] is False
    assert ended["last_session"]["markers"] == 1
    assert ended["last_session"]["end"] == "stopped"

    # What the ingest received.
    (flv,) = ingest.recordings()
    v, a = probe.video(flv), probe.audio(flv)
    assert (v.codec, v.width, v.height) == ("h264", 720, 1280)
    assert v.fps == pytest.approx(30, abs=0.5)
    assert probe.max_keyframe_interval(flv) <= 2.05
    assert (a.codec, a.profile, a.sample_rate) == ("aac", "LC", 48000)
    assert probe.duration(flv) == pytest.approx(live_for, abs=2.0)

    # The kit's own recording: every segment plays, together as long as the broadcast.
    parts = segments(kit)
    assert parts, "no recording"
    assert parts[0].parent.name.endswith("_test")  # named after the title
    for p in parts:
        assert probe.video(p).width == 720
        assert probe.audio(p).sample_rate == 48000
    assert recorded_duration(kit) == pytest.approx(live_for, abs=2.0)

    # The marker is stored with the session.
    db = sqlite3.connect(kit.state_dir / "kit.db")
    (at_s,) = db.execute("SELECT at_s FROM markers").fetchone()
    assert 2 < at_s < live_for

    assert_no_secret(kit.log())
    assert_no_secret(kit.cli("status", "--json").stdout)


def test_a_press_during_the_countdown_cancels(kit_process, ingest: Ingest) -> None:
    kit = kit_process(ingest.rtmp_url())
    kit.press()
    kit.wait_state("countdown", timeout=5)
    kit.press()
    st = kit.wait_state("idle", timeout=5)
    assert st["light"]["relay"] is False
    time.sleep(3.5)  # past where the countdown would have ended
    assert kit.status()["state"] == "idle"
    assert ingest.publishes == []
    assert segments(kit) == []


def test_rtmps_with_certificate_check(kit_process, ingest: Ingest) -> None:
    kit = kit_process(ingest.rtmps_url(), ca_file=ingest.ca_file)
    go_live(kit)
    assert ingest.wait_for_publish(timeout=5)["sign"] == SIGN
    time.sleep(3)
    kit.cli("live", "stop")
    kit.wait_state("idle")
    (flv,) = ingest.recordings()
    assert probe.video(flv).height == 1280
    assert probe.duration(flv) > 2


def test_rtmps_server_with_an_untrusted_certificate_stops_the_go_live(
    kit_process, ingest: Ingest
) -> None:
    # The system CA bundle does not know the ingest's throwaway CA: the
    # pre-flight check sees it before the key is ever sent.
    kit = kit_process(ingest.rtmps_url())
    kit.press()
    st = kit.wait_state("check_failed", timeout=20)
    assert "certificate" in st["message"].lower()
    assert st["light"]["relay"] is False
    assert ingest.publishes == []


def test_a_rejected_key_is_reported_not_retried(kit_process, ingest: Ingest) -> None:
    ingest.reject_names = {NAME}
    kit = kit_process(ingest.rtmp_url())
    kit.press()
    st = kit.wait_state("key_rejected", timeout=20)
    assert "new key" in st["advice"]
    assert st["light"]["relay"] is False
    tries = len(ingest.publishes)
    assert 1 <= tries <= 4
    time.sleep(4)
    assert len(ingest.publishes) == tries, "kept retrying a rejected key"
    assert kit.status()["state"] == "key_rejected"
    assert_no_secret(kit.log())
    # A press retries (a new key may have been pasted meanwhile).
    ingest.reject_names = set()
    kit.press()
    kit.wait_state("live", timeout=15)


def test_an_unreachable_server_stops_the_go_live(kit_process) -> None:
    kit = kit_process(f"rtmp://127.0.0.1:{free_port()}/game/")
    kit.press()
    st = kit.wait_state("check_failed", timeout=20)
    assert "server" in st["message"].lower()
    checks = {c["id"]: c for c in json.loads(kit.cli("check", "--json", check=False).stdout)}
    assert checks["ingest"]["status"] == "fail"
    assert {"wifi", "dns", "ingest", "upload"} <= set(checks)


def test_ingest_outage_reconnects_and_the_recording_has_no_gap(kit_process, ingest: Ingest) -> None:
    kit = kit_process(ingest.rtmp_url())
    live_at = go_live(kit)
    time.sleep(4)
    ingest.stop()
    kit.wait_state("reconnecting", timeout=10)
    time.sleep(10)
    back = time.monotonic()
    ingest.start()
    kit.wait_state("live", timeout=10)
    again = time.monotonic() - back
    assert again < 5, f"live again {again:.1f} s after the ingest came back"
    assert ingest.wait_for_media(timeout=5, since=back)
    time.sleep(3)
    st = kit.status()
    assert st["reconnects"] == 1
    kit.press(hold=3)
    kit.wait_state("idle", timeout=15)
    live_for = time.monotonic() - live_at
    # The recording went on through the outage: as long as the whole broadcast...
    assert recorded_duration(kit) == pytest.approx(live_for, abs=2.0)
    # ...and without a hole inside any segment. (The MP4 muxer puts a segment's first
    # picture at 0 when the sound started a moment before it, so the first frame is
    # shown that much longer: not a hole in the broadcast, left out here.)
    for p in segments(kit):
        video = probe.frame_times(p, "v")[1:]
        assert max(b - a for a, b in itertools.pairwise(video)) < 0.2, p
        assert probe.max_gap(p, "a") < 0.2


def test_sigterm_ends_the_broadcast_cleanly(kit_process, ingest: Ingest) -> None:
    kit = kit_process(ingest.rtmp_url())
    live_at = go_live(kit)
    ffmpeg_pid = kit.status()["ffmpeg_pid"]
    time.sleep(4)
    kit.signal(signal.SIGTERM)
    assert kit.wait_exit(20) == 0
    live_for = time.monotonic() - live_at
    assert not psutil.pid_exists(ffmpeg_pid)
    assert recorded_duration(kit) == pytest.approx(live_for, abs=2.0)
    assert "kit stopped" in kit.log()
    assert "ring light off (relay reads off)" in kit.log()
    db = sqlite3.connect(kit.state_dir / "kit.db")
    assert db.execute("SELECT end_state FROM sessions").fetchone() == ("stopped",)


def test_killed_daemon_leaves_no_ffmpeg_and_playable_segments(kit_process, ingest: Ingest) -> None:
    kit = kit_process(ingest.rtmp_url())
    go_live(kit)
    live_seen = time.monotonic()  # recording was running by then, whatever the load
    ffmpeg_pid = kit.status()["ffmpeg_pid"]
    time.sleep(5)
    kit.signal(signal.SIGKILL)
    killed_after = time.monotonic() - live_seen
    kit.wait_exit(5)
    deadline = time.monotonic() + 5
    while psutil.pid_exists(ffmpeg_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(ffmpeg_pid), "ffmpeg outlived the daemon"
    parts = segments(kit)
    assert parts
    for p in parts:
        assert probe.duration(p) > 0
    # ffmpeg was asked to stop once (kit.media.reaper), so it finished its segment:
    # everything up to the kill is there (a second signal would have cut 0.5-2 s off).
    assert recorded_duration(kit) >= killed_after - 0.5


def test_api_refuses_requests_without_the_token(kit_process, ingest: Ingest) -> None:
    import json
    import urllib.error
    import urllib.request

    kit = kit_process(ingest.rtmp_url())
    port = int(kit.config.read_text().split("port = ")[1].split()[0])
    for header in (None, "Bearer wrong-token", "Basic abc"):
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/live/start", method="POST", data=b"{}"
        )
        if header:
            req.add_header("Authorization", header)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        assert e.value.code == 401
        assert "token" in json.loads(e.value.read())["error"]
    time.sleep(0.5)
    assert kit.status()["state"] == "idle"
    assert (kit.state_dir / "api-token").stat().st_mode & 0o777 == 0o600


def test_bad_config_is_refused_with_every_problem_and_no_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    cfg = tmp_path / "kit.toml"
    secret = "stream-SECRET123456?expire=1&sign=s3cr3t|x"
    cfg.write_text(
        f'[stream]\nserver = "http://example.com/live"\nkey = "{secret}"\nbirate_kbps = 1\n'
        f'[state]\ndir = "{tmp_path}/state"\n'
    )
    r = subprocess.run(
        [sys.executable, "-m", "kit", "run", "--simulate", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    out = r.stdout + r.stderr
    assert "rtmp:// or rtmps://" in out
    assert "'|'" in out
    assert "did you mean 'bitrate_kbps'" in out
    assert "SECRET123456" not in out and "s3cr3t" not in out
    assert not (tmp_path / "state").exists(), "a refused config changed something"


def test_process_tree_is_small(kit_process, ingest: Ingest) -> None:
    """While live the daemon runs exactly one ffmpeg (under its reaper, kit.media.reaper),
    plus the test pattern's."""
    kit = kit_process(ingest.rtmp_url())
    go_live(kit)
    assert kit.proc is not None
    children = psutil.Process(kit.proc.pid).children(recursive=True)
    names = sorted(c.name() for c in children)
    assert names[:2] == ["ffmpeg", "ffmpeg"] and len(names) == 3, names
    (reaper,) = [c for c in children if c.name().startswith("python")]
    assert "kit/media/reaper.py" in " ".join(reaper.cmdline())
    assert [c.name() for c in reaper.children()] == ["ffmpeg"]
    kit.cli("live", "stop")
    kit.wait_state("idle")
    assert psutil.Process(kit.proc.pid).children(recursive=True) == []
    assert os.path.exists(kit.state_dir / "kit.db")


def test_a_stalled_ffmpeg_is_killed_and_restarted(kit_process, ingest: Ingest) -> None:
    kit = kit_process(ingest.rtmp_url())
    kit.cli("live", "start")  # follows the state until live
    first = kit.status()["ffmpeg_pid"]
    os.kill(first, signal.SIGSTOP)  # frozen: no progress, no exit
    st = kit.wait_for(lambda s: s.get("ffmpeg_pid") not in (None, first), 20, "a new ffmpeg")
    assert st["restarts"] == 1
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == "zombie"
    st = kit.wait_state("live", timeout=15)
    assert st["reconnects"] >= 1
    kit.cli("marker")
    assert kit.status()["markers"] == 1
    kit.cli("live", "stop")
    # Both ffmpeg runs wrote into the same session, numbered on; the frozen run's segment
    # is kept if a fragment of it reached the disk, else removed: every one left plays.
    names = [p.name for p in segments(kit)]
    assert names and names == sorted(names)
    assert names[0] == "part-0000.mp4"
    for part in segments(kit):
        assert probe.duration(part) > 0, part


def camera_feeds(kit: KitProcess) -> list[psutil.Process]:
    """The simulated camera's ffmpeg processes (the test pattern), live ones only."""
    assert kit.proc is not None
    feeds = []
    for c in psutil.Process(kit.proc.pid).children(recursive=True):
        try:
            if "testsrc2" in " ".join(c.cmdline()):
                feeds.append(c)
        except psutil.Error:  # gone, or a zombie not yet reaped
            continue
    return feeds


def test_a_camera_hiccup_is_tried_again_while_reconnecting(kit_process, ingest: Ingest) -> None:
    kit = kit_process(ingest.rtmp_url())
    go_live(kit)
    (feed,) = camera_feeds(kit)
    feed.kill()
    kit.wait_state("reconnecting", timeout=5)
    st = kit.wait_state("live", timeout=15)
    assert st["restarts"] >= 1
    assert [c.pid for c in camera_feeds(kit)] != [feed.pid]


def test_a_camera_that_stays_dead_ends_the_broadcast_in_one_sentence(
    kit_process, ingest: Ingest
) -> None:
    kit = kit_process(ingest.rtmp_url())
    go_live(kit)
    deadline = time.monotonic() + 30
    st = kit.status()
    while st["state"] != "camera_failed" and time.monotonic() < deadline:
        for feed in camera_feeds(kit):  # every time the kit starts the camera again
            feed.kill()
        time.sleep(0.05)
        st = kit.status()
    assert st["state"] == "camera_failed", st
    advice = st["advice"]
    assert "and again after 3 restarts" in advice
    sentences = [x.strip() for x in advice.split(".") if x.strip()]
    assert len(sentences) == len(set(sentences)), advice  # nothing said twice
    assert st["light"]["relay"] is False
    kit.wait_for(lambda s: "last_session" in s, 10, "the session to end")
    assert kit.proc is not None
    assert psutil.Process(kit.proc.pid).children(recursive=True) == []
