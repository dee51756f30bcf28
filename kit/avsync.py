"""A/V sync of a recording, measured on the simulation's sync pattern.

With ``[simulation] sync_pattern`` on, the test pattern flashes white and the tone
beeps (1 kHz, about 0.1 s) at every wall-clock second, both starting at the same
instant. This module decodes a recording (the FLV the ingest wrote, or the kit's
own fragmented-MP4 segments), finds the flashes and the beep onsets, pairs them
and reports offset = t_picture - t_sound against ITU-R BT.1359: the sound may lead
the picture by at most 45 ms and lag it by at most 125 ms (-125 <= offset <= +45).

Why it is built this way:

- One ffmpeg per file decodes both streams once. The picture is shrunk to a
  32-pixel-wide gray image before ``showinfo`` prints each frame's pts and mean
  luma; the sound leaves as raw mono s16 at its own rate (no resampler, so no
  filter delay to account for) while ``ashowinfo`` prints each decoded frame's pts
  and sample count. A sample's time is the pts of the frame that carried it plus
  its place in that frame, in the same timeline as the picture (``-copyts``), not
  the stream's start_time plus a sample count: that is wrong as soon as a frame
  has been moved or a packet lost, and the muxers move frames (below).
- AAC priming needs no correction: ffmpeg's encoder stamps its first packet 1024
  samples (the priming) before the first real sample, and the muxers keep that:
  FLV (ffmpeg's, and so nginx-rtmp's recording of it) and the fragmented MP4
  segments shift every stream by the same amount so the priming decodes before the
  picture's first frame; MP4 with an edit list has the decoder drop it. What the
  fragmented-MP4 muxer does change is each track's first frame: it starts every
  track at 0 by moving its first frame there. So the first video frame and the
  first audio frame of a file are never used (a segment cut at a keyframe often
  starts on a flash: that pair is lost, and counted as unmatched).
- A flash quantises to the frame period: the emitter lights the first frame at or
  after the second boundary, so a flash (and the offset) may read up to one frame
  (33 ms at 30 fps) late. Offsets are reported raw.
- Stdlib only (no numpy on the Pi): RMS over 5 ms blocks costs about 1.5 s per
  10 minutes of 48 kHz sound; the samples are kept only around loud blocks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from operator import mul
from pathlib import Path
from typing import IO

BUDGET_MS = (-125.0, 45.0)  # ITU-R BT.1359: offset = t_picture - t_sound
FLASH_LUMA = 200.0  # mean luma (0..255, full range) above which a frame is a flash
PAIR_WINDOW_S = 0.5  # a flash and its beep are at most this far apart
RMS_WINDOW_S = 0.005
MIN_BEEP_S = 0.02  # shorter loud spans are clicks, not beeps
MIN_BEEP_DBFS = -40.0  # the loudest block must reach this (the emitter's is about -9)
KEEP_DBFS = -50.0  # blocks at least this loud (and their neighbours) keep their samples
MIN_SNR_DB = 20.0  # loudest block over the median block: beeps over silence, not a tone
EDGE_S = 60.0  # the "first/last minute" windows
KEEP_AROUND = 2  # blocks kept before and after a loud one: an onset's lead-in
FULL_SCALE = 32768.0
SYNC_HINT = "is [simulation] sync_pattern on?"


class AvSyncError(RuntimeError):
    """The recording cannot be measured (no flashes, no beeps, ffmpeg failed...)."""


def _dbfs(level: float) -> float:
    return FULL_SCALE * 10 ** (level / 20)


# --- The picture -------------------------------------------------------------------------


def flash_times(
    frames: Sequence[tuple[float, float]], threshold: float = FLASH_LUMA
) -> list[float]:
    """The pts of each flash: the first frame of every run of frames brighter than threshold.

    ``frames`` are (pts, mean luma) in presentation order. A bright first frame is
    not counted: it may be the second frame of a flash cut by the segment's start,
    and the fragmented-MP4 muxer moves a file's first frame to 0.
    """
    out: list[float] = []
    previous_bright = True
    for pts, luma in frames:
        bright = luma > threshold
        if bright and not previous_bright:
            out.append(pts)
        previous_bright = bright
    return out


# --- The sound ---------------------------------------------------------------------------


class BeepDetector:
    """Beep onsets in mono s16 samples fed in chunks of any size.

    The RMS of every 5 ms block is kept; the samples only of blocks louder than
    -50 dBFS and of the two blocks on either side, which is all an onset needs, so a
    long broadcast of beeps over silence stays small in memory.

    A beep is a span of blocks above a gate (the geometric mean of the loudest
    block and the median one). Its level is the median RMS of its blocks; its onset
    is the first sample at which the RMS of the trailing window reaches half that
    level, less a quarter window: for a tone that starts abruptly the trailing
    window's energy grows linearly, so it reaches a quarter of the full energy
    (half the RMS) a quarter window after the tone starts.
    """

    def __init__(self, rate: int, window_s: float = RMS_WINDOW_S) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate {rate}")
        self.rate = rate
        self.window = max(4, round(rate * window_s))
        self.rms = array("d")
        self._pending = array("h")
        self._kept: dict[int, array] = {}
        self._recent: deque[tuple[int, array]] = deque(maxlen=KEEP_AROUND)
        self._keep_until = -1
        self._keep_rms = _dbfs(KEEP_DBFS)

    def feed(self, samples: Sequence[int] | array) -> None:
        self._pending.extend(samples)
        w = self.window
        full = len(self._pending) // w
        for k in range(full):
            self._block(self._pending[k * w : (k + 1) * w])
        del self._pending[: full * w]

    def _block(self, block: array) -> None:
        index = len(self.rms)
        rms = math.sqrt(sum(map(mul, block, block)) / self.window)
        self.rms.append(rms)
        if rms >= self._keep_rms:
            self._kept.update(self._recent)
            self._recent.clear()
            self._kept[index] = block
            self._keep_until = index + KEEP_AROUND
        elif index <= self._keep_until:
            self._kept[index] = block
        else:
            self._recent.append((index, block))

    def onsets(self) -> list[float]:
        """Onsets as sample positions (fractional) from the first sample fed."""
        rms = self.rms
        if not rms:
            return []
        loud = max(rms)
        floor = max(statistics.median(rms), 1.0)
        if loud < _dbfs(MIN_BEEP_DBFS) or loud < floor * 10 ** (MIN_SNR_DB / 20):
            return []
        gate = max(self._keep_rms, math.sqrt(loud * floor))
        min_blocks = math.ceil(MIN_BEEP_S * self.rate / self.window)
        out = []
        for start, end in loud_spans(rms, gate, merge_gap=KEEP_AROUND):
            # No quiet lead-in: a beep that began before the file did.
            if start < KEEP_AROUND or end - start < min_blocks:
                continue
            onset = self._crossing(start, statistics.median(rms[start:end]))
            if onset is not None:
                out.append(onset)
        return out

    def _crossing(self, start: int, level: float) -> float | None:
        w = self.window
        first = start - KEEP_AROUND
        samples = array("h")
        for index in range(first, start + KEEP_AROUND + 1):
            block = self._kept.get(index)
            if block is None:
                break
            samples.extend(block)
        threshold = (level / 2) ** 2 * w
        head = samples[:w]
        energy = sum(map(mul, head, head))
        if energy >= threshold:  # already loud before the span: not a clean onset
            return None
        for i in range(w, len(samples)):
            energy += samples[i] * samples[i] - samples[i - w] * samples[i - w]
            if energy >= threshold:
                # The window [i+1-w, i] reaches the level with sample i.
                return first * w + i + 1 - w / 4
        return None


def loud_spans(levels: Sequence[float], gate: float, merge_gap: int = 0) -> list[tuple[int, int]]:
    """[start, end) index spans where levels >= gate; spans apart by <= merge_gap are one."""
    spans: list[tuple[int, int]] = []
    start = None
    for i, level in enumerate(levels):
        if level >= gate:
            if start is None:
                start = i
        elif start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(levels)))
    merged: list[tuple[int, int]] = []
    for span in spans:
        if merged and span[0] - merged[-1][1] <= merge_gap:
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    return merged


def onsets(samples: Sequence[int], rate: int, window_s: float = RMS_WINDOW_S) -> list[float]:
    """Beep onsets (sample positions) in a whole list of mono samples."""
    detector = BeepDetector(rate, window_s)
    detector.feed(samples)
    return detector.onsets()


@dataclass
class AudioClock:
    """Sample position -> time, from the pts and size of each decoded audio frame."""

    rate: int
    starts: list[int]  # position of each frame's first sample
    pts: list[float]  # each frame's pts, seconds

    @classmethod
    def from_frames(cls, frames: Sequence[tuple[float | None, int, int]]) -> AudioClock:
        """``frames``: (pts or None, sample rate, sample count) in decoding order."""
        starts: list[int] = []
        times: list[float] = []
        position = 0
        rate = frames[0][1] if frames else 0
        for pts, frame_rate, count in frames:
            if pts is None:  # no pts: it follows the previous frame
                pts = times[-1] + (position - starts[-1]) / rate if times else 0.0
            if frame_rate != rate:
                raise AvSyncError(f"the audio's sample rate changes ({rate} -> {frame_rate})")
            starts.append(position)
            times.append(pts)
            position += count
        return cls(rate, starts, times)

    @property
    def samples(self) -> int:
        return self.starts[-1] if self.starts else 0

    def time(self, position: float) -> float:
        j = max(bisect_right(self.starts, position) - 1, 0)
        return self.pts[j] + (position - self.starts[j]) / self.rate


# --- Pairing and statistics --------------------------------------------------------------


def pair(
    flashes: Sequence[float], beeps: Sequence[float], window_s: float = PAIR_WINDOW_S
) -> list[tuple[float, float, float]]:
    """(flash_s, beep_s, offset_ms) for each flash and the nearest beep within window_s.

    One to one: the closest candidate pairs are taken first.
    """
    ordered = sorted(beeps)
    candidates = []
    for fi, flash in enumerate(flashes):
        j = bisect_left(ordered, flash)
        for bi in (j - 1, j):
            if 0 <= bi < len(ordered) and abs(flash - ordered[bi]) <= window_s:
                candidates.append((abs(flash - ordered[bi]), fi, bi))
    candidates.sort()
    used_f: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for _, fi, bi in candidates:
        if fi in used_f or bi in used_b:
            continue
        used_f.add(fi)
        used_b.add(bi)
        flash, beep = flashes[fi], ordered[bi]
        pairs.append((flash, beep, (flash - beep) * 1000))
    pairs.sort()
    return pairs


@dataclass(frozen=True)
class Report:
    """Pairs of (flash_s, beep_s, offset_ms), offset = t_picture - t_sound.

    Positive: the sound leads the picture; negative: it lags. The statistics are in
    ms. Times are on the recording's timeline: a single file's own, or segments laid
    end to end (each segment's first frame follows the previous segment's last).
    """

    pairs: list[tuple[float, float, float]]
    unmatched_flashes: int = 0
    unmatched_beeps: int = 0
    sources: tuple[str, ...] = ()
    frame_s: float | None = None  # the picture's frame period: a flash's quantum
    skipped: tuple[str, ...] = ()  # files without both a picture and sound

    @property
    def offsets(self) -> list[float]:
        return [offset for _, _, offset in self.pairs]

    @property
    def count(self) -> int:
        return len(self.pairs)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.offsets) if self.pairs else math.nan

    @property
    def min(self) -> float:
        return min(self.offsets, default=math.nan)

    @property
    def max(self) -> float:
        return max(self.offsets, default=math.nan)

    @property
    def p95_abs(self) -> float:
        """95th percentile (nearest rank) of |offset|."""
        if not self.pairs:
            return math.nan
        ordered = sorted(abs(o) for o in self.offsets)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]

    @property
    def edge_s(self) -> float:
        """The first/last window: a minute, or a third of a recording under 3 minutes."""
        if not self.pairs:
            return 0.0
        return min(EDGE_S, (self.pairs[-1][0] - self.pairs[0][0]) / 3)

    @property
    def first_minute_mean_ms(self) -> float:
        """Mean offset over the first edge_s from the first pair (drift: against the last)."""
        if not self.pairs:
            return math.nan
        end = self.pairs[0][0] + self.edge_s
        return statistics.fmean(o for f, _, o in self.pairs if f <= end)

    @property
    def last_minute_mean_ms(self) -> float:
        """Mean offset over the last edge_s up to the last pair."""
        if not self.pairs:
            return math.nan
        start = self.pairs[-1][0] - self.edge_s
        return statistics.fmean(o for f, _, o in self.pairs if f >= start)

    @property
    def drift_ms_per_min(self) -> float:
        """Least-squares slope of offset against time."""
        if len(self.pairs) < 2:
            return math.nan
        t = [f for f, _, _ in self.pairs]
        if max(t) == min(t):
            return math.nan
        slope, _ = statistics.linear_regression(t, self.offsets)
        return slope * 60

    def within(self, lo: float = BUDGET_MS[0], hi: float = BUDGET_MS[1]) -> bool:
        return bool(self.pairs) and lo <= self.min and self.max <= hi

    def as_dict(self) -> dict[str, object]:
        return {
            "sources": list(self.sources),
            "skipped": list(self.skipped),
            "count": self.count,
            "unmatched_flashes": self.unmatched_flashes,
            "unmatched_beeps": self.unmatched_beeps,
            "mean": self.mean,
            "min": self.min,
            "max": self.max,
            "p95_abs": self.p95_abs,
            "first_minute_mean_ms": self.first_minute_mean_ms,
            "last_minute_mean_ms": self.last_minute_mean_ms,
            "edge_s": self.edge_s,
            "drift_ms_per_min": self.drift_ms_per_min,
            "frame_s": self.frame_s,
            "within": self.within(),
            "pairs": [list(p) for p in self.pairs],
        }

    def table(self, lo: float = BUDGET_MS[0], hi: float = BUDGET_MS[1]) -> str:
        if len(self.sources) == 1:
            source = self.sources[0]
        elif self.sources:
            source = f"{self.sources[0]} .. {self.sources[-1]} ({len(self.sources)} files)"
        else:
            source = "-"
        edge = f"{self.edge_s:.0f} s" if self.edge_s >= 10 else f"{self.edge_s:.1f} s"
        rows = [
            ("source", source),
            (
                "pairs",
                f"{self.count} (unmatched: {self.unmatched_flashes} flashes,"
                f" {self.unmatched_beeps} beeps)",
            ),
            ("mean", f"{self.mean:+.1f} ms"),
            ("min .. max", f"{self.min:+.1f} .. {self.max:+.1f} ms"),
            ("p95 |offset|", f"{self.p95_abs:.1f} ms"),
            (f"first {edge}", f"{self.first_minute_mean_ms:+.1f} ms"),
            (f"last {edge}", f"{self.last_minute_mean_ms:+.1f} ms"),
            ("drift", f"{self.drift_ms_per_min:+.2f} ms/min"),
        ]
        if self.skipped:
            rows.append(("skipped", ", ".join(self.skipped) + " (no picture or no sound)"))
        if self.frame_s:
            step = f"{self.frame_s * 1000:.1f} ms (a flash may read up to this late)"
            rows.append(("flash step", step))
        verdict = "within" if self.within(lo, hi) else "OUT OF BUDGET"
        rows.append(("budget", f"{lo:+.0f} .. {hi:+.0f} ms (ITU-R BT.1359): {verdict}"))
        head = "A/V sync: offset = t_picture - t_sound (+: sound leads, -: sound lags)"
        return "\n".join([head, *(f"  {k:<14}{v}" for k, v in rows)])


# --- ffmpeg ------------------------------------------------------------------------------

_VIDEO = re.compile(
    r"^\[Parsed_showinfo_\d+ @ \w+\] n:\s*\d+ pts:\s*\S+\s+pts_time:(\S+)\s.*?\bmean:\[\s*([\d.]+)"
)
_AUDIO = re.compile(
    r"^\[Parsed_ashowinfo_\d+ @ \w+\] n:\s*\d+ pts:\s*\S+\s+pts_time:(\S+)\s"
    r".*?\brate:(\d+) nb_samples:(\d+)"
)
_FILTERS = (
    "[0:v:0]scale=32:-2:flags=fast_bilinear,format=gray,showinfo[v];"
    "[0:a:0]aformat=sample_fmts=s16:channel_layouts=mono,ashowinfo[a]"
)


def _time(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:  # NOPTS
        return None


@dataclass
class _Decoded:
    frames: list[tuple[float, float]]  # (pts, mean luma)
    beeps: list[float]
    start: float
    end: float
    frame_s: float | None


def _samples(data: bytes | bytearray) -> array:
    """Raw s16le bytes as samples."""
    samples = array("h")
    samples.frombytes(data)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _streams(path: Path, ffprobe: str) -> set[str]:
    try:
        result = subprocess.run(
            [ffprobe, "-v", "error", "-of", "json", "-show_entries", "stream=codec_type", path],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as e:
        raise AvSyncError(f"{ffprobe} not found") from e
    try:
        streams = json.loads(result.stdout or "{}").get("streams", [])
    except json.JSONDecodeError:
        streams = []
    if result.returncode != 0 and not streams:
        raise AvSyncError(f"{path}: {result.stderr.strip() or 'ffprobe failed'}")
    return {s.get("codec_type", "") for s in streams}


def _decode(path: Path, ffmpeg: str) -> _Decoded:
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
        "-copyts", "-skip_loop_filter", "all", "-i", str(path),
        "-filter_complex", _FILTERS,
        "-map", "[v]", "-f", "null", "-",
        "-map", "[a]", "-f", "s16le", "pipe:1",
    ]  # fmt: skip
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError as e:
        raise AvSyncError(f"{ffmpeg} not found") from e
    frames: list[tuple[float, float]] = []
    audio: list[tuple[float | None, int, int]] = []
    tail: deque[str] = deque(maxlen=12)

    def read_log(stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            if m := _VIDEO.match(line):
                pts = _time(m[1])
                if pts is not None:
                    frames.append((pts, float(m[2])))
            elif m := _AUDIO.match(line):
                audio.append((_time(m[1]), int(m[2]), int(m[3])))
            elif not line.startswith("[Parsed_"):
                tail.append(line)

    assert proc.stdout is not None and proc.stderr is not None
    logger = threading.Thread(target=read_log, args=(proc.stderr,), daemon=True)
    logger.start()
    detector: BeepDetector | None = None
    held = bytearray()  # not fed yet: all of it until the sample rate is known, or an odd byte
    while chunk := proc.stdout.read(1 << 20):
        held += chunk
        if detector is None and audio:
            detector = BeepDetector(audio[0][1])
        if detector is not None:
            cut = len(held) - len(held) % 2
            detector.feed(_samples(held[:cut]))
            del held[:cut]
    rc = proc.wait()
    logger.join()
    if rc != 0:
        raise AvSyncError(f"{path}: ffmpeg failed ({rc}): " + " | ".join(tail))
    if not audio:
        raise AvSyncError(f"{path}: no audio decoded")
    if detector is None:
        detector = BeepDetector(audio[0][1])
    detector.feed(_samples(held[: len(held) - len(held) % 2]))
    clock = AudioClock.from_frames(audio)
    # Not in the first audio frame: the fragmented-MP4 muxer may have moved it.
    first_frame = audio[0][2]
    beeps = [clock.time(p) for p in detector.onsets() if p >= first_frame]
    frames.sort()
    frame_s = None
    if len(frames) >= 2:
        frame_s = statistics.median(b[0] - a[0] for a, b in pairwise(frames))
    audio_end = clock.time(clock.starts[-1] + audio[-1][2])
    starts = [clock.pts[0]] + ([frames[0][0]] if frames else [])
    ends = [audio_end] + ([frames[-1][0] + (frame_s or 0.0)] if frames else [])
    return _Decoded(frames, beeps, min(starts), max(ends), frame_s)


def measure(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    ffprobe: str = "ffprobe",
    ffmpeg: str = "ffmpeg",
    *,
    flash_luma: float = FLASH_LUMA,
) -> Report:
    """Measure one recording: a media file, or its segments in order (each decoded alone).

    Of several files, one without both a picture and sound (an ingest recording of a
    publish that never sent a frame) is skipped and listed in the report. Raises
    AvSyncError when it cannot measure: a missing or unreadable file, nothing left
    to measure, no flashes, no beeps, or no flash with a beep within 0.5 s.
    """
    files = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not files:
        raise AvSyncError("no file to measure")
    pairs: list[tuple[float, float, float]] = []
    flashes_total = beeps_total = 0
    frame_periods = []
    skipped: list[str] = []
    base: float | None = None
    for name in files:
        path = Path(name)
        if not path.is_file():
            raise AvSyncError(f"{path}: no such file")
        try:
            kinds = _streams(path, ffprobe)
            missing = [kind for kind in ("video", "audio") if kind not in kinds]
            if missing:
                raise AvSyncError(f"{path}: no {' and no '.join(missing)} stream")
        except AvSyncError:
            if len(files) == 1:
                raise
            skipped.append(str(path))
            continue
        decoded = _decode(path, ffmpeg)
        flashes = flash_times(decoded.frames, flash_luma)
        flashes_total += len(flashes)
        beeps_total += len(decoded.beeps)
        if decoded.frame_s:
            frame_periods.append(decoded.frame_s)
        if base is None:
            base = decoded.start
        shift = base - decoded.start
        pairs += [(f + shift, b + shift, o) for f, b, o in pair(flashes, decoded.beeps)]
        base += decoded.end - decoded.start
    if len(skipped) == len(files):
        raise AvSyncError(f"no file has both a picture and sound: {', '.join(skipped)}")
    if not flashes_total:
        raise AvSyncError(f"no white flashes found: {SYNC_HINT}")
    if not beeps_total:
        raise AvSyncError(f"no beeps found (sound never quiet, or too soft): {SYNC_HINT}")
    if not pairs:
        raise AvSyncError(
            f"{flashes_total} flashes and {beeps_total} beeps, but no flash has a beep"
            f" within {PAIR_WINDOW_S} s"
        )
    return Report(
        pairs,
        unmatched_flashes=flashes_total - len(pairs),
        unmatched_beeps=beeps_total - len(pairs),
        sources=tuple(str(f) for f in files if str(f) not in skipped),
        skipped=tuple(skipped),
        frame_s=statistics.median(frame_periods) if frame_periods else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kit.avsync",
        description="A/V sync of a recording made with [simulation] sync_pattern on."
        " Exit status: 0 within budget, 1 out of budget, 2 cannot measure.",
    )
    parser.add_argument("files", nargs="+", help="a media file, or a recording's segments in order")
    parser.add_argument("--pairs", action="store_true", help="also print every pair")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--ffmpeg", default="ffmpeg")
    parser.add_argument("--ffprobe", default="ffprobe")
    args = parser.parse_args(argv)
    try:
        report = measure(args.files, ffprobe=args.ffprobe, ffmpeg=args.ffmpeg)
    except AvSyncError as e:
        print(f"avsync: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.table())
        if args.pairs:
            print(f"  {'flash_s':>10} {'beep_s':>10} {'offset_ms':>10}")
            for flash, beep, offset in report.pairs:
                print(f"  {flash:10.3f} {beep:10.3f} {offset:+10.1f}")
    return 0 if report.within() else 1


if __name__ == "__main__":
    sys.exit(main())
