"""The recordings' pure parts as tables: clip planning, marker → video time, ffmpeg's
arguments, the report's chart and words; the store's recordings tables on an old
database; the figures sampler; an attempt that never went on air leaves nothing."""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from kit import figures, recfiles, report_chart
from kit.api import history
from kit.media import clips
from kit.media.clips import ClipError, Plan
from kit.store import Sample, Store
from tests.unit.test_broadcast import StandIn, make

KEYS = [2.0 * i for i in range(31)]  # a keyframe every 2 s, 60 s of video
FRAMES = [i / 30 for i in range(30 * 61)]


@pytest.mark.parametrize(
    ("marker", "before", "after", "duration", "expected"),
    [
        # A keyframe within 0.5 s of the wanted start: cut there, nothing re-encoded.
        (40.0, 30, 10, 60.0, Plan(10.0, 50.0, "copy", 10.0)),
        (40.4, 30, 10, 60.0, Plan(10.0, 50.4, "copy", 10.0)),  # 0.4 s early
        (39.5, 30, 10, 60.0, Plan(10.0, 49.5, "copy", 10.0)),  # 0.5 s late: still
        # Farther: re-encode from the frame at the start up to the next keyframe only.
        (41.0, 30, 10, 60.0, Plan(11.0, 51.0, "smart", 12.0)),
        (40.6, 30, 10, 60.0, Plan(FRAMES[318], 50.6, "smart", 12.0)),
        # Bounded by the video: not before 0, not after its end.
        (5.0, 30, 10, 60.0, Plan(0.0, 15.0, "copy", 0.0)),
        (56.4, 30, 10, 60.0, Plan(26.0, 60.0, "copy", 26.0)),
        (57.0, 30, 10, 60.0, Plan(27.0, 60.0, "smart", 28.0)),
        # At most 60 s, even when the copy cut starts up to 0.5 s early.
        (60.0, 60, 0, 60.0, Plan(0.0, 60.0, "copy", 0.0)),
        (45.4, 45, 15, 70.0, Plan(0.0, 60.0, "copy", 0.0)),
        # No keyframe inside a short clip: all of it re-encoded.
        (31.2, 0.4, 0.6, 60.0, Plan(FRAMES[924], 31.8, "encode", 31.8)),
    ],
)  # fmt: skip
def test_the_clip_plan(
    marker: float, before: float, after: float, duration: float, expected: Plan
) -> None:
    got = clips.plan(marker, before, after, duration, KEYS, FRAMES)
    assert got.method == expected.method
    assert (got.start_s, got.end_s, got.keyframe_s) == pytest.approx(
        (expected.start_s, expected.end_s, expected.keyframe_s)
    )
    assert got.duration_s <= clips.MAX_CLIP_S
    assert got.start_s <= got.keyframe_s <= got.end_s
    assert got.reencoded_s <= 2.0  # never more than one keyframe interval re-encoded


@pytest.mark.parametrize(
    ("marker", "before", "after", "duration"),
    [(60.0, 0, 10, 60.0), (0.0, 0, 0.5, 60.0), (10.0, 5, 5, 0.5)],
)
def test_a_clip_shorter_than_a_second_is_refused(
    marker: float, before: float, after: float, duration: float
) -> None:
    with pytest.raises(ClipError):
        clips.plan(marker, before, after, duration, KEYS, FRAMES)


@pytest.mark.parametrize(
    ("marker", "samples", "expected"),
    [
        (10.0, [], 10.0),  # nothing known: the same time
        (10.0, [(5.0, 3.5), (10.0, 8.5)], 8.5),  # the video began 1.5 s after the press
        (7.0, [(5.0, 3.5), (10.0, 8.5)], 5.5),
        (1.0, [(5.0, 3.5)], 0.0),  # before the video began
        # ffmpeg restarted between 20 and 30 s: the video stood still meanwhile.
        (25.0, [(20.0, 18.5), (30.0, 21.0)], 21.0),
        (31.0, [(20.0, 18.5), (30.0, 21.0)], 22.0),
        (12.0, [(5.0, None), (10.0, 8.5)], 10.5),  # a sample before the first frame
    ],
)
def test_a_marker_in_the_video(
    marker: float, samples: list[tuple[float, float]], expected: float
) -> None:
    assert clips.video_time(marker, samples) == pytest.approx(expected)


def test_the_profile_of_the_copied_frames() -> None:
    entry = b"avc1" + bytes(78) + b"\x00\x00\x00\x10avcC\x01\x64\x00\x1f\xff"
    assert clips.h264_profile(entry) == ("high", "3.1")
    assert clips.h264_profile(entry.replace(b"\x01\x64", b"\x01\x42")) == ("baseline", "3.1")
    assert clips.h264_profile(b"mp4a") == ("high", "4.0")


P = Path("/r/clips/.work-1")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (clips.copy_argv("ffmpeg", P / "source.mp4", 40.0, P / "clip.mp4"),
         "-i /r/clips/.work-1/source.mp4 -t 40.000000 -map 0:v:0 -map 0:a:0? -c copy "
         "-movflags +faststart -f mp4 -y /r/clips/.work-1/clip.mp4"),
        (clips.head_argv("ffmpeg", P / "source.mp4", 1.25, 22, ("main", "4.0"), P / "head.ts"),
         "-ss 1.250000 -i /r/clips/.work-1/source.mp4 -map 0:v:0 -frames:v 22 -c:v libx264 "
         "-preset veryfast -crf 18 -profile:v main -level:v 4.0 -pix_fmt yuv420p "
         "-x264-params sps-id=1 -threads 1 -an -f mpegts -y /r/clips/.work-1/head.ts"),
        (clips.tail_argv("ffmpeg", P / "tail.mp4", 38.5, P / "tail.ts"),
         "-i /r/clips/.work-1/tail.mp4 -t 38.500000 -map 0:v:0 -c:v copy -an -f mpegts "
         "-y /r/clips/.work-1/tail.ts"),
        (clips.audio_argv("ffmpeg", P / "source.mp4", 1.25, 40.0, P / "sound.m4a"),
         "-ss 1.250000 -i /r/clips/.work-1/source.mp4 -t 40.000000 -map 0:a:0 -c:a aac "
         "-b:a 128k -threads 1 -f mp4 -y /r/clips/.work-1/sound.m4a"),
        (clips.join_argv("ffmpeg", P / "parts.txt", P / "sound.m4a", P / "clip.mp4"),
         "-f concat -safe 0 -i /r/clips/.work-1/parts.txt -i /r/clips/.work-1/sound.m4a "
         "-map 0:v:0 -map 1:a:0 -c copy -movflags +faststart -f mp4 -y /r/clips/.work-1/clip.mp4"),
    ],
)  # fmt: skip
def test_ffmpeg_arguments(argv: list[str], expected: str) -> None:
    assert argv[:8] == ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-nostats",
                        "-progress", "pipe:1"]  # fmt: skip
    assert " ".join(argv[8:]) == expected


def test_the_concat_list_ends_the_head_on_the_keyframe() -> None:
    assert clips.concat_list(P / "head.ts", 0.7, P / "tail.ts") == (
        "ffconcat version 1.0\nfile 'head.ts'\nduration 0.700000\nfile 'tail.ts'\n"
    )
    assert clips.concat_list(P / "head.ts", 1.2, None).count("file") == 1


@pytest.mark.parametrize(
    ("nice", "ionice", "expected"),
    [
        ("/usr/bin/nice", "/usr/bin/ionice",
         ["/usr/bin/ionice", "-c", "3", "/usr/bin/nice", "-n", "19", "ffmpeg", "-i", "x"]),
        ("/usr/bin/nice", None, ["/usr/bin/nice", "-n", "19", "ffmpeg", "-i", "x"]),
        (None, None, ["ffmpeg", "-i", "x"]),
    ],
)  # fmt: skip
def test_exports_run_at_the_lowest_priority(
    nice: str | None, ionice: str | None, expected: list[str]
) -> None:
    assert clips.low_priority(["ffmpeg", "-i", "x"], nice, ionice) == expected


# -- the report's chart ---------------------------------------------------------------

LABELS = {"title": "Bitrate <&>", "kbps": "kb/s", "highlight": "Highlight {n}",
          "reconnect": "Reconnected", "dropped": "{n} dropped"}  # fmt: skip
SVG = "{http://www.w3.org/2000/svg}"


def samples(*rows: tuple[float, float, int, int]) -> list[Sample]:
    return [Sample(at, kbps, dropped, rc, None) for at, kbps, dropped, rc in rows]


@pytest.mark.parametrize(
    ("rows", "markers", "duration", "points", "drops", "reconnects", "top"),
    [
        ([], [], 0.0, 0, 0, 0, "250"),
        ([(0, 2500, 0, 0), (5, 2400, 0, 0), (10, 2600, 0, 0)], [], 10.0, 3, 0, 0, "5000"),
        ([(0, 2500, 0, 0), (5, 800, 4, 1), (10, 2500, 4, 1), (15, 2450, 9, 2)], [3.0, 12.0],
         15.0, 4, 2, 2, "5000"),
        ([(0, 1000, 0, 0), (60, 900, 0, 0)], [30.0], 60.0, 2, 0, 0, "2000"),
    ],
)  # fmt: skip
def test_the_chart(
    rows: list[tuple[float, float, int, int]], markers: list[float], duration: float,
    points: int, drops: int, reconnects: int, top: str,
) -> None:  # fmt: skip
    svg = report_chart.chart(samples(*rows), markers, duration, LABELS)
    root = ET.fromstring(svg)  # well-formed, escaped
    assert root.get("viewBox") == "0 0 360 150"
    assert root.find(f"{SVG}title").text == "Bitrate <&>"  # type: ignore[union-attr]
    line = root.find(f"{SVG}polyline")
    assert (0 if line is None else len(line.get("points", "").split())) == points
    assert len(root.findall(f"{SVG}rect[@class='drop']")) == drops
    assert len(root.findall(f"{SVG}line[@class='rc']")) == reconnects
    assert len(root.findall(f"{SVG}g[@class='hl']")) == len(markers)
    assert top in [t.text for t in root.iter(f"{SVG}text")]
    assert "style=" not in svg and "http" not in svg.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    for x in re.findall(r' x1?="([-0-9.]+)"', svg):
        assert 0 <= float(x) <= 360


def test_the_chart_places_highlights_in_time() -> None:
    svg = report_chart.chart(samples((0, 2500, 0, 0), (100, 2500, 0, 0)), [50.0], 100.0, LABELS)
    assert '<text x="196.0" y="23" text-anchor="middle">1</text>' in svg  # halfway
    assert "<title>Highlight 1</title>" in svg


# -- the report in words ----------------------------------------------------------------


def rec(**kw: Any) -> history.Recording:
    from kit.store import Session

    s = Session(1, 1000.0, 1000.0 + kw.pop("duration", 3725.0), "Sale", "/r/x",
                kw.pop("end", "stopped"), kw.pop("reconnects", 0), kw.pop("dropped", 0),
                2500.0, kw.pop("markers", ()), kw.pop("peak", None))  # fmt: skip
    return history.Recording(s, (("part-0000.mp4", 10_000_000),))


@pytest.mark.parametrize(
    ("recording", "rows", "says"),
    [
        (rec(), [], ["report.says.on_air", "report.says.end.stopped",
                     "report.says.bitrate_recorded", "report.says.no_reconnects",
                     "report.says.no_drops", "report.says.no_temperature",
                     "report.says.no_highlights"]),
        (rec(end="key_rejected", reconnects=2, dropped=14, markers=(5.0, 9.0), peak=82.5),
         [Sample(0, 2500, 0, 0, 60.0), Sample(5, 1200, 0, 0, 61.0)],
         ["report.says.on_air", "report.says.end.key_rejected", "report.says.bitrate",
          "report.says.reconnects", "report.says.drops", "report.says.temperature",
          "report.says.hot", "report.says.highlights"]),
        (rec(end="warp_core_breach"), [], ["report.says.on_air", "report.says.end.other",
                                           "report.says.bitrate_recorded",
                                           "report.says.no_reconnects", "report.says.no_drops",
                                           "report.says.no_temperature",
                                           "report.says.no_highlights"]),
    ],
)  # fmt: skip
def test_the_report_in_words(
    recording: history.Recording, rows: list[Sample], says: list[str]
) -> None:
    assert [k for k, _ in history.report(recording, rows)] == says


def test_the_report_values() -> None:
    words = dict(history.report(rec(markers=(1.0,), peak=70.0), [Sample(0, 0, 0, 0, 71.26)]))
    assert words["report.says.on_air"]["duration"] == "1 h 2 min"
    assert words["report.says.temperature"] == {"c": "71.3"}  # the samples' peak counts
    assert words["report.says.highlights"] == {"n": 1}
    assert history._spoken(75) == "1 min 15 s" and history._spoken(9) == "9 s"


def test_every_sentence_of_the_report_is_in_both_catalogues() -> None:
    import json

    from kit.api.web import web_root

    for lang in ("en", "sv"):
        cat = json.loads((web_root() / "i18n" / f"{lang}.json").read_text("utf-8"))
        for state in history.END_STATES:
            assert f"report.says.end.{state}" in cat
        for r, rows in ((rec(), []), (rec(end="x", reconnects=1, dropped=1, markers=(1.0,),
                                          peak=90.0), [Sample(0, 1, 0, 0, 1.0)] * 2)):  # fmt: skip
            for key, values in history.report(r, rows):
                assert cat[key].format(**values)


# -- the store: keep, figures, clips, on a database made before them --------------------

OLD_SCHEMA = """
CREATE TABLE sessions (id INTEGER PRIMARY KEY, started_at REAL NOT NULL, ended_at REAL,
  title TEXT NOT NULL DEFAULT '', dir TEXT NOT NULL, end_state TEXT NOT NULL DEFAULT '',
  reconnects INTEGER NOT NULL DEFAULT 0, dropped_frames INTEGER NOT NULL DEFAULT 0,
  bitrate_kbps REAL NOT NULL DEFAULT 0);
CREATE TABLE markers (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL
  REFERENCES sessions(id) ON DELETE CASCADE, at_s REAL NOT NULL, created_at REAL NOT NULL);
INSERT INTO sessions (started_at, ended_at, title, dir) VALUES (1.0, 61.0, 'old', '/r/old');
INSERT INTO markers (session_id, at_s, created_at) VALUES (1, 12.5, 13.5);
"""


def test_an_old_database_gains_keep_figures_and_clips(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "kit.db")
    db.executescript(OLD_SCHEMA)
    db.close()
    store = Store(tmp_path / "kit.db")
    old = store.session(1)
    assert old is not None and old.keep is False and old.markers == (12.5,)
    store.set_keep(1, True)
    store.add_sample(1, Sample(5.0, 2400.0, 1, 0, 61.5, 3.5))
    clip = store.save_clip(1, 1, 2.0, 22.0, "copy", now=5.0)
    assert store.save_clip(1, 1, 3.0, 23.0, "smart") == clip  # one per highlight
    store.update_clip(clip, state="done", progress=1.0, file="clip-1.mp4", size=99)
    store.set_clip_keep(clip, True)
    with pytest.raises(ValueError):
        store.update_clip(clip, session_id=2)
    store.close()
    store = Store(tmp_path / "kit.db")  # and again: the migration runs once
    assert store.session(1).keep is True  # type: ignore[union-attr]
    assert store.samples(1) == [Sample(5.0, 2400.0, 1, 0, 61.5, 3.5)]
    c = store.clip(clip)
    assert c is not None and (c.start_s, c.method, c.state, c.file, c.keep) == (
        3.0, "smart", "done", "clip-1.mp4", True)  # fmt: skip
    store.delete_session(1)
    assert store.session(1) is None and store.samples(1) == [] and store.clips(1) == []
    store.close()


# -- the sampler -------------------------------------------------------------------------


class Figures:
    def __init__(self) -> None:
        self.now = 100.0
        self.stats: dict[str, Any] = {"on_air": False, "bitrate_kbps": 0.0,
                                      "dropped_frames": 0, "reconnects": 0, "frame": 0}  # fmt: skip


def test_the_sampler_stores_the_figures_and_the_recording_time(tmp_path: Path) -> None:
    store = Store(tmp_path / "kit.db")
    sid = store.begin("x", tmp_path)
    f = Figures()
    s = figures.Sampler(store, sid, lambda: dict(f.stats), 100.0, clock=lambda: f.now,
                        temperature=lambda: 55.0, every_s=5.0, fps=30)  # fmt: skip
    assert not s.went_live()
    for now, frame, on_air in ((101, 0, False), (103, 45, True), (106, 135, True),
                               (111, 285, True), (116, 30, False)):  # fmt: skip
        f.now, f.stats["frame"], f.stats["on_air"] = now, frame, on_air
        f.stats["bitrate_kbps"] = 2400.0
        s._look()
    s.stop()
    got = store.samples(sid)
    assert [(x.at_s, x.video_s) for x in got] == [
        (1.0, None),
        (6.0, 4.5),
        (11.0, 9.5),
        (16.0, 10.5),
        (16.0, 10.5),  # a restart: 285+30
    ]
    assert got[1].temperature_c == 55.0 and s.went_live()
    store.close()


@pytest.mark.parametrize(
    ("stats", "live"),
    [({"push": "connecting", "on_air": False}, False), ({"on_air": True}, True), ({}, False)],
)  # fmt: skip
def test_went_live(stats: dict[str, Any], live: bool, tmp_path: Path) -> None:
    store = Store(tmp_path / "kit.db")
    s = figures.Sampler(store, 1, lambda: stats, 0.0)
    assert s.went_live(stats) is live
    store.close()


# -- junk: an attempt that never went on air ---------------------------------------------


@pytest.mark.parametrize("kept", [False, True])
def test_an_attempt_that_never_went_on_air_leaves_nothing(tmp_path: Path, kept: bool) -> None:
    store = Store(tmp_path / "state" / "kit.db")
    b = make(tmp_path, store)
    b.supervisor = StandIn(on_air=kept)  # type: ignore[assignment]
    (b.folder / "part-0000.mp4").write_bytes(b"x")
    b.end("key_rejected")
    assert b.folder.exists() is kept
    assert (store.session(b.id) is not None) is kept
    store.close()


def test_only_a_real_folder_inside_the_recordings_is_removed(tmp_path: Path) -> None:
    root, outside = tmp_path / "rec", tmp_path / "elsewhere"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (root / "link").symlink_to(outside)
    for folder in (root / "link", outside, root):
        recfiles.remove(root, folder)
    assert outside.exists() and (root / "link").is_symlink() and root.exists()
    recfiles.remove(root, root / "a")
    assert not (root / "a").exists()
