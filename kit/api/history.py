"""Recordings as the page shows them: sessions from the store plus what is on disk, and the
session report in words.

Only a recording whose folder lies inside the recordings folder (not through a symlink)
has files; only regular files count (kit.recfiles).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit import recfiles
from kit.store import Sample, Session, Store

# The report's sentence for each end state (its catalogue key: "report.says.end.<state>").
END_STATES = {
    "stopped", "key_rejected", "server_unreachable", "camera_failed", "microphone_failed",
    "pipeline_failed", "interrupted",
}  # fmt: skip
# End states as the conductor has recorded them that are another's words: a failure's kind
# (machine.Failure's value), or the on-air state ffmpeg ended in (the machine then goes to
# pipeline_failed). Any other, unknown one is "It ended." in words, never the raw name.
END_ALIASES = {
    "camera": "camera_failed", "microphone": "microphone_failed", "pipeline": "pipeline_failed",
    "stopping": "stopped", "connecting": "pipeline_failed", "live": "pipeline_failed",
    "reconnecting": "pipeline_failed",
}  # fmt: skip
HOT_C = 80.0  # the Pi 4 and 5 start to slow themselves down from here


@dataclass(frozen=True)
class Recording:
    session: Session
    files: tuple[tuple[str, int], ...]  # the segments: (name, bytes)

    @property
    def folder(self) -> Path:
        return Path(self.session.dir)

    @property
    def size(self) -> int:
        return sum(n for _, n in self.files)

    @property
    def duration_s(self) -> float | None:
        s = self.session
        return None if s.ended_at is None else max(0.0, s.ended_at - s.started_at)

    @property
    def average_kbps(self) -> float | None:
        """What was recorded over the broadcast's duration (video and audio)."""
        d = self.duration_s
        return None if not d or not self.size else self.size * 8 / 1000 / d

    @property
    def date(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.session.started_at))


def recording(session: Session, root: Path) -> Recording:
    folder = Path(session.dir)
    ok = recfiles.folder_ok(root, folder)
    files = tuple(recfiles.regular_files(folder, recfiles.SEGMENT)) if ok else ()
    return Recording(session, files)


def delete(store: Store, root: Path, session: Session) -> None:
    """Remove the session's folder (only if it lies inside the recordings folder) and its
    row, markers, figures and clips."""
    recfiles.remove(root, Path(session.dir))
    store.delete_session(session.id)


def peak_temperature(session: Session, samples: list[Sample]) -> float | None:
    temps = [s.temperature_c for s in samples if s.temperature_c is not None]
    if session.peak_temperature_c is not None:
        temps.append(session.peak_temperature_c)
    return max(temps) if temps else None


def report(rec: Recording, samples: list[Sample]) -> list[tuple[str, dict[str, Any]]]:
    """The report in words: (catalogue key, values) per sentence, in order."""
    s = rec.session
    out: list[tuple[str, dict[str, Any]]] = []
    if rec.duration_s is not None:
        out.append(("report.says.on_air", {"duration": _spoken(rec.duration_s), "date": rec.date}))
    if s.end_state:
        out.append(end_words(s.end_state))
    rates = [x.bitrate_kbps for x in samples if x.bitrate_kbps > 0]
    if len(rates) >= 2:
        mean = sum(rates) / len(rates)
        out.append(("report.says.bitrate", {"kbps": round(mean), "low": round(min(rates))}))
    elif rec.average_kbps:
        out.append(("report.says.bitrate_recorded", {"kbps": round(rec.average_kbps)}))
    if s.reconnects:
        out.append(("report.says.reconnects", {"n": s.reconnects}))
    else:
        out.append(("report.says.no_reconnects", {}))
    if s.dropped_frames:
        out.append(("report.says.drops", {"n": s.dropped_frames}))
    else:
        out.append(("report.says.no_drops", {}))
    peak = peak_temperature(s, samples)
    if peak is None:
        out.append(("report.says.no_temperature", {}))
    else:
        out.append(("report.says.temperature", {"c": f"{peak:.1f}"}))
        if peak >= HOT_C:
            out.append(("report.says.hot", {}))
    n = len(s.markers)
    out.append(("report.says.highlights", {"n": n}) if n else ("report.says.no_highlights", {}))
    return out


def end_words(end_state: str) -> tuple[str, dict[str, Any]]:
    """How a broadcast ended, in words: (catalogue key, values), for the report and for
    anything else that shows a recorded end state (the raw name never reaches the page)."""
    state = END_ALIASES.get(end_state, end_state)
    if state in END_STATES:
        return (f"report.says.end.{state}", {})
    return ("report.says.end.other", {})


def _spoken(seconds: float) -> str:
    s = round(seconds)
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    if h:
        return f"{h} h {m} min"
    return f"{m} min {sec} s" if m else f"{sec} s"
