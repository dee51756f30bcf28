"""kit.avsync's pure parts: beep onsets, flashes, the audio clock, pairing, statistics."""

from __future__ import annotations

import math
import random

import pytest

from kit import avsync
from kit.avsync import AudioClock, BeepDetector, Report


def signal(
    rate: int,
    seconds: float,
    bursts: list[tuple[float, float]],  # (start_s, duration_s)
    *,
    amplitude: float = 0.5,
    noise_dbfs: float | None = None,
    phase: float = 0.0,
    hz: float = 1000.0,
    levels: list[float] | None = None,
) -> list[int]:
    """Mono s16 samples: 1 kHz bursts that start abruptly, over silence or noise."""
    rng = random.Random(1)
    noise = 32767 * 10 ** (noise_dbfs / 20) if noise_dbfs is not None else 0.0
    out = []
    edges = [(round(s * rate), round((s + d) * rate)) for s, d in bursts]
    for i in range(round(seconds * rate)):
        value = noise * (2 * rng.random() - 1)
        for k, (a, b) in enumerate(edges):
            if a <= i < b:
                amp = levels[k] if levels else amplitude
                value += amp * 32767 * math.sin(2 * math.pi * hz * (i - a) / rate + phase)
        out.append(max(-32768, min(32767, round(value))))
    return out


ONSETS = [
    # (name, rate, seconds, bursts, options, expected onsets in s)
    ("one burst", 48000, 2.0, [(1.0, 0.1)], {}, [1.0]),
    ("three over -60 dBFS noise", 48000, 3.5, [(0.5, 0.1), (1.5, 0.1), (2.5, 0.1)],
     {"noise_dbfs": -60}, [0.5, 1.5, 2.5]),
    ("8 kHz", 8000, 2.5, [(0.25, 0.1), (1.25, 0.1)], {"noise_dbfs": -60}, [0.25, 1.25]),
    ("starts on a peak", 48000, 2.0, [(1.0, 0.1)], {"phase": math.pi / 2}, [1.0]),
    ("off the sample grid", 48000, 2.0, [(0.7001, 0.1)], {}, [0.7001]),
    ("a soft and a loud beep", 48000, 2.5, [(0.5, 0.1), (1.5, 0.1)],
     {"levels": [0.5, 0.05], "noise_dbfs": -70}, [0.5, 1.5]),
    ("no lead-in: began before the file", 48000, 1.5, [(0.0, 0.1), (1.0, 0.1)], {}, [1.0]),
    ("cut by the end of the file, too short", 48000, 1.51, [(0.5, 0.1), (1.5, 0.1)], {}, [0.5]),
    ("a click is not a beep", 48000, 2.0, [(0.5, 0.005), (1.0, 0.1)], {}, [1.0]),
    ("a continuous tone", 48000, 2.0, [(0.0, 2.0)], {}, []),
    ("silence", 48000, 1.0, [], {}, []),
    ("noise only", 48000, 1.0, [], {"noise_dbfs": -60}, []),
    ("too soft: under -40 dBFS", 48000, 2.0, [(1.0, 0.1)], {"amplitude": 0.005}, []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rate", "seconds", "bursts", "options", "expected"),
    [case[1:] for case in ONSETS],
    ids=[case[0] for case in ONSETS],
)
def test_onsets(rate, seconds, bursts, options, expected):
    found = [p / rate for p in avsync.onsets(signal(rate, seconds, bursts, **options), rate)]
    assert len(found) == len(expected), found
    for got, want in zip(found, expected, strict=True):
        assert got == pytest.approx(want, abs=0.0005)


def test_chunked_feed_matches_one_feed():
    samples = signal(48000, 3.0, [(0.5, 0.1), (1.5, 0.1), (2.5, 0.1)], noise_dbfs=-60)
    whole = avsync.onsets(samples, 48000)
    detector = BeepDetector(48000)
    i = 0
    for size in [1, 239, 241, 1000, 4097, 7, 100000] * 20:
        detector.feed(samples[i : i + size])
        i += size
    detector.feed(samples[i:])
    assert detector.onsets() == whole


def test_detector_keeps_only_samples_near_loud_blocks():
    detector = BeepDetector(48000)
    detector.feed(signal(48000, 10.0, [(t + 0.5, 0.1) for t in range(10)]))
    assert len(detector.onsets()) == 10
    # 20 blocks of beep (+1 ragged) and 2 either side, of 2000 blocks.
    assert len(detector._kept) < 10 * 26


LOUD_SPANS = [
    ([0, 5, 5, 0, 0, 0, 5], 5, 0, [(1, 3), (6, 7)]),
    ([0, 5, 0, 5, 0, 0, 5], 5, 1, [(1, 4), (6, 7)]),
    ([0, 5, 0, 5, 0, 0, 5], 5, 2, [(1, 7)]),
    ([5, 5], 5, 0, [(0, 2)]),
    ([1, 2], 5, 0, []),
]


@pytest.mark.parametrize(("levels", "gate", "gap", "expected"), LOUD_SPANS)
def test_loud_spans(levels, gate, gap, expected):
    assert avsync.loud_spans(levels, gate, merge_gap=gap) == expected


CLOCK = [
    # frames (pts, rate, count), position -> time
    ("contiguous", [(0.0, 1000, 100), (0.1, 1000, 100)], [(0, 0.0), (150, 0.15), (250, 0.25)]),
    # The fragmented-MP4 muxer puts a segment's first frame at 0 whatever its pts.
    ("first frame moved", [(0.0, 1000, 100), (0.2, 1000, 100)], [(50, 0.05), (150, 0.25)]),
    ("a hole", [(1.0, 1000, 100), (1.1, 1000, 100), (5.0, 1000, 100)], [(250, 5.05)]),
    ("no pts: follows", [(2.0, 1000, 100), (None, 1000, 100)], [(150, 2.15)]),
    ("before the first", [(0.5, 1000, 100)], [(-10, 0.49)]),
]


@pytest.mark.parametrize(("frames", "expected"), [c[1:] for c in CLOCK], ids=[c[0] for c in CLOCK])
def test_audio_clock(frames, expected):
    clock = AudioClock.from_frames(frames)
    for position, time in expected:
        assert clock.time(position) == pytest.approx(time)


def test_audio_clock_refuses_a_rate_change():
    with pytest.raises(avsync.AvSyncError, match="sample rate"):
        AudioClock.from_frames([(0.0, 48000, 1024), (0.1, 44100, 1024)])


def frames(lumas: list[float], fps: float = 30.0) -> list[tuple[float, float]]:
    return [(i / fps, y) for i, y in enumerate(lumas)]


FLASHES = [
    ("one frame", [120, 120, 250, 120], [2 / 30]),
    ("two frames: the first counts", [120, 250, 250, 120, 120, 240, 120], [1 / 30, 5 / 30]),
    ("a bright first frame may be a cut flash's tail", [250, 120, 250], [2 / 30]),
    ("at the threshold is not a flash", [120, 200, 201], [2 / 30]),
    ("none", [120] * 5, []),
]


@pytest.mark.parametrize(
    ("lumas", "expected"), [c[1:] for c in FLASHES], ids=[c[0] for c in FLASHES]
)
def test_flash_times(lumas, expected):
    assert avsync.flash_times(frames(lumas)) == pytest.approx(expected)


PAIRS = [
    # flashes, beeps, expected (flash, beep)
    ("same times", [1.0, 2.0], [1.0, 2.0], [(1.0, 1.0), (2.0, 2.0)]),
    ("sound lags 80 ms", [1.0, 2.0], [1.08, 2.08], [(1.0, 1.08), (2.0, 2.08)]),
    ("sound leads 40 ms", [1.0, 2.0], [0.96, 1.96], [(1.0, 0.96), (2.0, 1.96)]),
    ("the nearest beep", [1.0], [0.7, 1.2, 1.45], [(1.0, 1.2)]),
    ("beyond 0.5 s: unmatched", [1.0, 3.0], [1.6, 3.1], [(3.0, 3.1)]),
    ("one beep, two flashes: the closer", [1.0, 1.3], [1.25], [(1.3, 1.25)]),
    ("a missing beep", [1.0, 2.0, 3.0], [1.01, 3.01], [(1.0, 1.01), (3.0, 3.01)]),
    ("unsorted beeps", [1.0, 2.0], [2.02, 1.02], [(1.0, 1.02), (2.0, 2.02)]),
    ("nothing", [], [1.0], []),
]


@pytest.mark.parametrize(
    ("flashes", "beeps", "expected"), [c[1:] for c in PAIRS], ids=[c[0] for c in PAIRS]
)
def test_pair(flashes, beeps, expected):
    pairs = avsync.pair(flashes, beeps)
    assert [(f, b) for f, b, _ in pairs] == expected
    for f, b, offset in pairs:
        assert offset == pytest.approx((f - b) * 1000)


def report(offsets: list[float], start: float = 1.0) -> Report:
    return Report([(start + i, start + i - o / 1000, o) for i, o in enumerate(offsets)])


STATS = [
    # offsets, mean, min, max, p95 |offset|
    ([-80.0] * 10, -80.0, -80.0, -80.0, 80.0),
    ([10.0, -20.0, 30.0, -40.0], -5.0, -40.0, 30.0, 40.0),
    ([float(i) for i in range(1, 101)], 50.5, 1.0, 100.0, 95.0),
    ([5.0], 5.0, 5.0, 5.0, 5.0),
]


@pytest.mark.parametrize(("offsets", "mean", "lo", "hi", "p95"), STATS)
def test_statistics(offsets, mean, lo, hi, p95):
    r = report(offsets)
    assert r.count == len(offsets)
    assert (r.mean, r.min, r.max, r.p95_abs) == pytest.approx((mean, lo, hi, p95))


def test_first_and_last_minute_of_a_long_broadcast():
    # 10 minutes, drifting 1 ms every second: -1 ms at the first second, -600 at the last.
    r = report([-(i + 1.0) for i in range(600)], start=1.0)
    assert r.edge_s == 60
    assert r.first_minute_mean_ms == pytest.approx(-31.0)  # seconds 1..61
    assert r.last_minute_mean_ms == pytest.approx(-570.0)  # seconds 540..600
    assert r.drift_ms_per_min == pytest.approx(-60.0)


def test_a_short_recording_compares_its_thirds():
    r = report([0.0] * 10 + [-9.0] * 10 + [-30.0] * 10)
    assert r.edge_s == pytest.approx(29 / 3)
    assert r.first_minute_mean_ms == pytest.approx(0.0)
    assert r.last_minute_mean_ms == pytest.approx(-30.0)
    assert r.drift_ms_per_min < 0


def test_steady_recording_has_no_drift():
    r = report([-20.0] * 30)
    assert r.first_minute_mean_ms == r.last_minute_mean_ms == pytest.approx(-20.0)
    assert r.drift_ms_per_min == pytest.approx(0.0)


BUDGET = [
    # offsets, within the default budget (-125 .. +45)
    ([0.0, 10.0, -10.0], True),
    ([-125.0, 45.0], True),
    ([-125.1], False),
    ([45.1], False),
    ([-80.0] * 5 + [60.0], False),  # one pair out is out
    ([], False),  # nothing measured is not in sync
]


@pytest.mark.parametrize(("offsets", "expected"), BUDGET)
def test_within_budget(offsets, expected):
    assert report(offsets).within() is expected


def test_within_a_custom_budget():
    assert report([30.0]).within(lo=-10, hi=40)
    assert not report([30.0]).within(lo=-10, hi=20)


def test_empty_report_is_nan_not_an_exception():
    r = Report([])
    assert r.count == 0
    assert all(math.isnan(v) for v in (r.mean, r.min, r.max, r.p95_abs, r.first_minute_mean_ms))
    assert "OUT OF BUDGET" in r.table()


def test_table():
    r = Report(
        [(1.0, 1.08, -80.0), (2.0, 2.081, -81.0)],
        unmatched_flashes=1,
        unmatched_beeps=2,
        sources=("rec.flv",),
        frame_s=1 / 30,
    )
    text = r.table()
    assert "rec.flv" in text
    assert "2 (unmatched: 1 flashes, 2 beeps)" in text
    assert "-80.5 ms" in text
    assert "-81.0 .. -80.0 ms" in text
    assert "33.3 ms" in text
    assert "within" in text
    assert "OUT OF BUDGET" in Report([(1.0, 0.9, 100.0)]).table()
    assert "3 files" in Report([(1.0, 1.0, 0.0)], sources=("a", "b", "c")).table()


def test_as_dict_carries_the_verdict():
    d = report([-80.0, -81.0]).as_dict()
    assert d["within"] is True
    assert d["count"] == 2
    assert d["pairs"][0][2] == -80.0
