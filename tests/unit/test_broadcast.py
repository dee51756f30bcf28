"""kit.broadcast: what ffmpeg is asked to do from the settings, the supervisor around it, and
one broadcast's life in the store (a real Store in SQLite under tmp_path).

The supervisor is a stand-in where a test needs figures ffmpeg would have made; one test
runs the real one, with ffmpeg, from start to stop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kit import broadcast, destination
from kit.broadcast import Broadcast
from kit.config import Config, from_dict
from kit.hw import health
from kit.machine import Ev, Event
from kit.media import pipeline
from kit.media.audio import Tone
from kit.media.camera import TestPatternCamera
from kit.media.pipeline import AudioFeed, Encode, Outputs, Spec, VideoFeed
from kit.store import Store

KEY = "stream-7311?expire=1790000000&sign=0a:b/c"
FEED = VideoFeed(5, "rawvideo", 720, 1280, 30)


def settings(tmp: Path, **sections: dict[str, Any]) -> Config:
    base: dict[str, dict[str, Any]] = {
        "stream": {"server": "rtmp://127.0.0.1:1/live/", "key": KEY},
        "recording": {"dir": str(tmp / "rec")},
        "broadcast": {"title": "Friday Sale"},
    }
    for name, values in sections.items():
        base[name] = base.get(name, {}) | values
    return from_dict(base)


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class StandIn:
    """A supervisor that reports `stats` and runs nothing."""

    def __init__(self, pid: int | None = None, **stats: Any) -> None:
        self.pid = pid
        self._stats = {
            "bitrate_kbps": 2400.0,
            "dropped_frames": 0,
            "reconnects": 0,
            "last_error": "",
            "microphone": "ok",
            "network": "ok",
            "push": "up",
            "on_air": True,  # it went on air (an attempt that never did leaves nothing)
            **stats,
        }
        self.stopped: list[bool] = []

    def stats(self) -> dict[str, Any]:
        return dict(self._stats)

    def stop(self, wait: bool = False) -> None:
        self.stopped.append(wait)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state" / "kit.db")
    yield s
    s.close()


def make(
    tmp: Path,
    store: Store,
    cfg: Config | None = None,
    clock: Clock | None = None,
    on_event: Any = None,
    **kw: Any,
) -> Broadcast:
    return Broadcast(
        cfg or settings(tmp),
        camera=TestPatternCamera(Encode("libx264", 720, 1280, 30, 2500)),
        audio=Tone(),
        store=store,
        encoder="libx264",
        on_event=on_event or (lambda ev: None),
        clock=clock or Clock(),
        **kw,
    )


# -- what ffmpeg is asked to do -----------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "encode"),
    [
        ({}, Encode("libx264", 720, 1280, 30, 2500, 128, 2, "veryfast")),
        (
            {"width": 1080, "height": 1920, "fps": 25, "bitrate_kbps": 6000,
             "audio_bitrate_kbps": 192, "keyframe_seconds": 1, "x264_preset": "ultrafast"},
            Encode("libx264", 1080, 1920, 25, 6000, 192, 1, "ultrafast"),
        ),
    ],
)  # fmt: skip
def test_the_encode_is_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stream: dict[str, Any], encode: Encode
) -> None:
    monkeypatch.setattr(broadcast.encoders, "_model", lambda: None)  # not a Pi: veryfast
    assert broadcast.encode_for(settings(tmp_path, stream=stream), "libx264") == encode


@pytest.mark.parametrize(
    ("stream", "ca_file"),
    [
        ({}, Path("/etc/ssl/certs/ca-certificates.crt")),
        ({"ca_file": "/etc/kit/ca.pem"}, Path("/etc/kit/ca.pem")),
        ({"tls_verify": False, "ca_file": "/etc/kit/ca.pem"}, None),
    ],
)
def test_the_certificate_is_checked_unless_the_settings_say_not(
    tmp_path: Path, stream: dict[str, Any], ca_file: Path | None
) -> None:
    assert broadcast.ca_file_for(settings(tmp_path, stream=stream)) == ca_file


@pytest.mark.parametrize(
    ("first_segment", "silent", "sound"),
    [
        (0, False, AudioFeed("tone", frequency=440)),
        (7, False, AudioFeed("tone", frequency=440)),
        (3, True, AudioFeed("silence")),  # the microphone is gone
    ],
)
def test_the_spec_of_each_ffmpeg_run(
    tmp_path: Path, first_segment: int, silent: bool, sound: AudioFeed
) -> None:
    encode = Encode("libx264", 720, 1280, 30, 2500)
    dest = destination.parse("rtmps://push.example.com:443/game/", KEY)
    spec_for = broadcast.spec_builder(
        encode, tmp_path, dest, Tone(), segment_seconds=30, ca_file=Path("/ca.pem")
    )
    outputs = Outputs(tmp_path / "part-%04d.mp4", 30, first_segment, dest, Path("/ca.pem"))
    assert spec_for(FEED, first_segment, silent) == Spec(FEED, sound, encode, outputs)
    if not silent:
        assert spec_for(FEED, first_segment) == spec_for(FEED, first_segment, False)
    pipeline.build(spec_for(FEED, first_segment, silent))  # ffmpeg's argv can be made of it


# -- the supervisor around it -------------------------------------------------------------


class Captured:
    """Stands in for the Supervisor class: keeps the keywords it was made with."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


@pytest.mark.parametrize(
    ("push_health", "options", "watched", "mic"),
    [
        (True, {}, True, "audio"),
        (False, {}, False, "audio"),
        (False, {"mic_available": "given"}, False, "given"),
        (True, {"push_bytes": "given"}, "given", "audio"),
    ],
)
def test_the_supervisor_is_made_as_asked(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    push_health: bool,
    options: dict[str, Any],
    watched: bool | str,
    mic: str,
) -> None:
    monkeypatch.setattr(broadcast, "Supervisor", Captured)
    audio, camera = Tone(), TestPatternCamera(Encode("libx264", 720, 1280, 30, 2500))
    dest = destination.parse("rtmp://127.0.0.1:1/live/", KEY)
    spec_for = broadcast.spec_builder(
        Encode("libx264", 720, 1280, 30, 2500), tmp_path, dest, audio, segment_seconds=60
    )

    def on_event(ev: Event) -> None:
        pass

    made: Any = broadcast.supervisor_for(
        camera=camera, audio=audio, folder=tmp_path, dest=dest, spec_for=spec_for,
        on_event=on_event, push_health=push_health, ffmpeg_bin="/opt/ffmpeg", **options,
    )  # fmt: skip
    kw = made.kwargs
    assert kw["camera"] is camera and kw["spec_for"] is spec_for and kw["on_event"] is on_event
    assert kw["session_dir"] == tmp_path and kw["ffmpeg_bin"] == "/opt/ffmpeg"
    # The key in each of its escaped forms is redacted from ffmpeg's log.
    assert kw["secrets"] == pipeline.secret_forms(dest) and KEY in kw["secrets"]
    assert kw["mic_available"] == (audio.available if mic == "audio" else mic)
    if watched is True:
        assert callable(kw["push_bytes"])
    elif watched is False:
        assert "push_bytes" not in kw
    else:
        assert kw["push_bytes"] == watched


def test_the_broadcast_supervisor_watches_the_push_at_the_stream_rate(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broadcast, "Supervisor", Captured)
    cfg = settings(tmp_path, stream={"bitrate_kbps": 3000, "audio_bitrate_kbps": 96})
    b = make(tmp_path, store, cfg, ffmpeg_bin="/opt/ffmpeg")
    kw = b.supervisor.kwargs  # type: ignore[attr-defined]
    assert kw["target_kbps"] == 3096 and callable(kw["push_bytes"])
    assert kw["ffmpeg_bin"] == "/opt/ffmpeg" and kw["session_dir"] == b.folder
    spec = kw["spec_for"](FEED, 4)
    assert spec.outputs == Outputs(
        b.folder / "part-%04d.mp4",
        cfg.recording.segment_seconds,
        4,
        b.destination,
        Path("/etc/ssl/certs/ca-certificates.crt"),
    )
    assert spec.encode.bitrate_kbps == 3000 and spec.encode.audio_bitrate_kbps == 96


# -- one broadcast in the store -----------------------------------------------------------


def test_a_broadcast_has_its_folder_and_its_session_from_the_start(
    tmp_path: Path, store: Store
) -> None:
    b = make(tmp_path, store)
    assert b.folder.is_dir() and b.folder.parent == tmp_path / "rec"
    assert b.folder.name.endswith("_friday-sale")
    assert b.destination.host == "127.0.0.1" and b.destination.key.reveal() == KEY
    session = store.session(b.id)
    assert session is not None
    assert (session.title, session.dir, session.ended_at) == ("Friday Sale", str(b.folder), None)
    # The same title again at once: a folder and a session of its own.
    again = make(tmp_path, store)
    assert again.folder != b.folder and again.id != b.id and again.folder.is_dir()


def test_markers_are_stored_at_the_broadcast_time(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(100.0)
    b = make(tmp_path, store, clock=clock)
    caplog.set_level(logging.INFO, "kit.broadcast")
    for now in (112.5, 130.0):
        clock.now = now
        b.add_marker()
    assert b.markers == 2
    assert store.session(b.id).markers == (12.5, 30.0)  # type: ignore[union-attr]
    assert "highlight marker 2 at 30.0 s" in caplog.messages


@pytest.mark.parametrize(
    ("samples", "peak"),
    [
        ([55.0, None, 71.5, 60.0], 71.5),
        ([None, None], None),
        ([], None),
        ([-3.0], -3.0),
    ],
)
def test_the_peak_temperature_is_the_hottest_sample(
    tmp_path: Path, store: Store, samples: list[float | None], peak: float | None
) -> None:
    b = make(tmp_path, store)
    for celsius in samples:
        b.sample_temperature(celsius)
    assert b.peak_temperature_c == peak


@pytest.mark.parametrize(
    ("stats", "warnings"),
    [
        ({}, []),
        ({"microphone": "missing"}, ["status.microphone_missing"]),
        ({"network": "behind"}, ["status.network_behind"]),
        (
            {"microphone": "missing", "network": "behind"},
            ["status.microphone_missing", "status.network_behind"],
        ),
        ({"network": "unknown"}, []),
    ],
)
def test_the_status_of_a_broadcast(
    tmp_path: Path, store: Store, stats: dict[str, Any], warnings: list[str]
) -> None:
    clock = Clock(100.0)
    b = make(tmp_path, store, clock=clock)
    b.supervisor = StandIn(pid=4242, fps=30.0, **stats)  # type: ignore[assignment]
    b.add_marker()
    clock.now = 112.34
    st = b.status()
    expected = {"session_id": b.id, "elapsed_s": 12.3, "markers": 1, "ffmpeg_pid": 4242}
    assert st.items() >= (expected | b.supervisor.stats()).items()
    assert b.status(now=150.0)["elapsed_s"] == 50.0  # the conductor's now
    if not warnings:
        assert "warnings" not in st and "i18n" not in st
        return
    assert [w["id"] for w in st["i18n"]["warnings"]] == warnings
    english = {
        "status.microphone_missing": broadcast.MIC_MISSING,
        "status.network_behind": broadcast.NETWORK_BEHIND,
    }
    assert st["warnings"] == [english[w] for w in warnings]


def test_the_status_of_a_broadcast_not_yet_running(tmp_path: Path, store: Store) -> None:
    st = make(tmp_path, store).status()
    assert st["ffmpeg_pid"] is None and st["push"] == "connecting" and st["markers"] == 0
    assert "warnings" not in st


@pytest.mark.parametrize("end_state", ["stopped", "key_rejected", "error"])
def test_the_end_is_stored_with_the_figures_and_summed_up(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch, end_state: str
) -> None:
    monkeypatch.setattr(health, "read_temperature", lambda *a: 64.5)
    clock = Clock(100.0)
    b = make(tmp_path, store, clock=clock)
    b.supervisor = StandIn(  # type: ignore[assignment]
        reconnects=2, dropped_frames=17, bitrate_kbps=2456.7, last_error="Broken pipe"
    )
    b.sample_temperature(70.0)
    b.add_marker()
    clock.now = 160.04
    summary = b.end(end_state)
    assert summary == {
        "session_id": b.id,
        "duration_s": 60.0,
        "markers": 1,
        "recording": str(b.folder),
        "end": end_state,
        "reconnects": 2,
        "dropped_frames": 17,
        "last_error": "Broken pipe",
    }
    s = store.session(b.id)
    assert s is not None and s.ended_at is not None
    assert (s.end_state, s.reconnects, s.dropped_frames, s.bitrate_kbps) == (
        end_state, 2, 17, 2456.7,
    )  # fmt: skip
    assert s.peak_temperature_c == 70.0  # the hottest: sampled on air, then at the end


def test_the_end_is_stored_when_the_temperature_cannot_be_read(
    tmp_path: Path,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*a: Any) -> float:
        raise OSError("no sensor")

    monkeypatch.setattr(health, "read_temperature", broken)
    b = make(tmp_path, store)
    b.supervisor = StandIn()  # type: ignore[assignment]
    caplog.set_level(logging.INFO, "kit.broadcast")
    assert b.end("stopped")["end"] == "stopped"
    s = store.session(b.id)
    assert s is not None and s.end_state == "stopped" and s.peak_temperature_c is None
    assert "reading the temperature failed" in caplog.messages
    assert f"broadcast {b.id} ended (stopped)" in caplog.messages


def test_stop_asks_the_supervisor(tmp_path: Path, store: Store) -> None:
    b = make(tmp_path, store)
    b.supervisor = stand_in = StandIn()  # type: ignore[assignment]
    b.stop()
    b.stop(wait=True)
    assert stand_in.stopped == [False, True]


def test_a_broadcast_runs_ffmpeg_from_the_settings_until_stopped(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The real supervisor and ffmpeg: recording (the server is unreachable meanwhile),
    then an orderly stop, the events going to on_event."""
    events: list[Event] = []
    stopped = threading.Event()

    def on_event(ev: Event) -> None:
        events.append(ev)
        if ev is Ev.PIPELINE_STOPPED:
            stopped.set()

    cfg = settings(tmp_path, stream={"width": 360, "height": 640, "bitrate_kbps": 500})
    caplog.set_level(logging.INFO, "kit.broadcast")
    b = Broadcast(
        cfg,
        camera=TestPatternCamera(Encode("libx264", 360, 640, 30, 2500)),
        audio=Tone(),
        store=store,
        encoder="libx264",
        on_event=on_event,
    )
    b.start()
    try:
        deadline = threading.Event()
        for _ in range(100):
            if int(b.status()["frame"]) > 0:
                break
            deadline.wait(0.1)
        assert int(b.status()["frame"]) > 0, b.supervisor.recent_log()
        assert isinstance(b.status()["ffmpeg_pid"], int)
    finally:
        b.stop(wait=True)
    assert stopped.is_set() and events[-1] is Ev.PIPELINE_STOPPED
    assert (b.folder / "part-0000.mp4").stat().st_size > 0
    assert f"broadcast {b.id} to 127.0.0.1, recording in {b.folder}" in caplog.messages
    assert KEY not in "\n".join(b.supervisor.recent_log())
