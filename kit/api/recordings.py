"""The recordings pages: each broadcast as one video, its highlights as clips, its report.

- ``/recordings``: the broadcasts (title, date, duration, size, a thumbnail, highlights).
- ``/recordings/<id>``: the video in the phone's own player, a button per highlight that
  jumps to it, the clip of each highlight (start and end nudged, previewed, exported in
  the background, downloaded in one tap with the title and hashtags to copy), *keep*,
  and the report in words with its chart.
- ``/recordings/<id>/video.mp4``: the segments joined (kit.media.mp4join), moov first,
  served from the first byte with byte ranges: no join to wait for, no copy on disk.

Every id and number from a request is checked (400 with a message, never a 500); files
are read only as regular files inside the recording's folder, never through a symlink
(kit.recfiles); every POST needs the CSRF token (kit.api.app). The broadcast being
recorded has no video, clip or delete until it ends.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from kit import naming, recfiles, report_chart
from kit.api import history
from kit.api.web import LANGUAGES, Catalogue, WebDeps
from kit.media import clips, mp4join
from kit.media.clipjobs import ClipJobs
from kit.media.mp4join import Joined
from kit.store import Clip

log = logging.getLogger(__name__)

ID = re.compile(r"^[0-9]{1,9}$")
SECONDS = re.compile(r"^[0-9]{1,2}(\.[0-9])?$")  # 0 .. 99.9, tenths at most
CACHED_VIDEOS = 4
THUMBNAIL_TIMEOUT_S = 15


class Videos:
    """The joined video of each recording, kept for the few last asked (a player asks for
    many ranges), made again when a segment changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, tuple[tuple[Any, ...], Joined | None]] = OrderedDict()

    def get(self, rec: history.Recording) -> Joined | None:
        key = (*rec.files, _mtimes(rec.folder, rec.files))
        with self._lock:
            hit = self._cache.get(rec.session.id)
            if hit and hit[0] == key:
                self._cache.move_to_end(rec.session.id)
                return hit[1]
        joined = mp4join.index(rec.folder, [n for n, _ in rec.files]) if rec.files else None
        with self._lock:
            self._cache[rec.session.id] = (key, joined)
            while len(self._cache) > CACHED_VIDEOS:
                self._cache.popitem(last=False)
        return joined


def _mtimes(folder: Path, files: tuple[tuple[str, int], ...]) -> tuple[int, ...]:
    out = []
    for name, _ in files:
        try:
            out.append(os.stat(folder / name, follow_symlinks=False).st_mtime_ns)
        except OSError:
            out.append(0)
    return tuple(out)


def blueprint(conductor: Any, deps: WebDeps, ffmpeg: str = "ffmpeg") -> Blueprint:
    root = deps.root
    bp = Blueprint("recordings", __name__, template_folder=str(root / "templates"))
    strings = Catalogue(root / "i18n")
    videos = Videos()

    def recordings_root() -> Path:
        return deps.settings.current().recording.dir

    def joined_of(session_id: int) -> Joined | None:
        found = deps.store.session(session_id)
        return videos.get(history.recording(found, recordings_root())) if found else None

    jobs = ClipJobs(deps.store, joined_of, ffmpeg=ffmpeg)

    def lang() -> str:
        return request.accept_languages.best_match(LANGUAGES) or "en"

    def t(key: str, **values: Any) -> str:
        return strings.get(lang(), key, **values)

    def page(template: str, code: int = 200, **values: Any) -> Response:
        return Response(render_template(template, **values), code, mimetype="text/html")

    def wants_json() -> bool:
        return request.accept_mimetypes.best == "application/json"

    def number(raw: str, what: str) -> int:
        if not ID.match(raw):
            abort(400, description=t("recordings.bad_number", what=raw[:20], field=t(what)))
        return int(raw)

    def find(raw_id: str) -> history.Recording:
        found = deps.store.session(number(raw_id, "recordings.field.recording"))
        if found is None:
            abort(404, description=t("recordings.not_found"))
        return history.recording(found, recordings_root())

    def recording_now(rec: history.Recording) -> bool:
        return conductor.status().get("session_id") == rec.session.id

    def not_while_recording(rec: history.Recording) -> None:
        if recording_now(rec) or rec.session.ended_at is None:
            abort(409, description=t("recordings.busy"))

    def marker_of(rec: history.Recording, raw: str) -> int:
        n = number(raw, "recordings.field.highlight")
        if not 1 <= n <= len(rec.session.markers):
            abort(404, description=t("recordings.no_highlight", n=n))
        return n

    def flag(name: str) -> bool:
        raw = request.form.get(name, "")
        if raw not in ("0", "1"):
            abort(400, description=t("recordings.bad_flag"))
        return raw == "1"

    @bp.after_request
    def _media_allowed(resp: Response) -> Response:
        # The page plays the recording: media from the kit itself, as everything else.
        if resp.mimetype == "text/html" and request.blueprint == "recordings":
            from kit.api.app import CSP

            resp.headers["Content-Security-Policy"] = CSP + "; media-src 'self'"
        return resp

    # -- the list -------------------------------------------------------------------

    @bp.get("/recordings")
    def index() -> Any:
        items = [history.recording(s, recordings_root()) for s in deps.store.sessions()]
        return page("recordings.html", items=items, current=conductor.status().get("session_id"))

    # -- one broadcast --------------------------------------------------------------

    def highlights(rec: history.Recording, joined: Joined | None) -> list[dict[str, Any]]:
        samples = [(s.at_s, s.video_s) for s in deps.store.samples(rec.session.id)]
        made = {c.marker: c for c in deps.store.clips(rec.session.id)}
        out = []
        for n, at in enumerate(rec.session.markers, 1):
            video_s = clips.video_time(at, samples)  # type: ignore[arg-type]
            if joined is not None:
                video_s = min(video_s, joined.duration_s)
            clip = made.get(n)
            out.append({"n": n, "at_s": at, "video_s": round(video_s, 2), "clip": clip,
                        "view": clip_view(rec, clip) if clip else None})  # fmt: skip
        return out

    def clip_view(rec: history.Recording, c: Clip) -> dict[str, Any]:
        state = c.state
        if state in ("queued", "running") and not jobs.active(c.id):
            state = "failed"  # left unfinished by a daemon that stopped
        url = ""
        if state == "done":
            url = url_for("recordings.clip_file", session_id=rec.session.id, n=c.marker)
        return {"n": c.marker, "state": state, "progress": c.progress, "url": url,
                "size": c.size, "keep": c.keep, "method": c.method,
                "start_s": round(c.start_s, 2), "end_s": round(c.end_s, 2),
                "error": c.error if state == "failed" else ""}  # fmt: skip

    def caption(rec: history.Recording) -> str:
        tags = str(deps.settings.page().get("hashtags") or "")
        return " ".join(x for x in (rec.session.title.strip(), tags.strip()) if x)

    def show(rec: history.Recording, code: int = 200, error: str = "") -> Response:
        now = recording_now(rec) or rec.session.ended_at is None
        joined = None if now else videos.get(rec)
        samples = deps.store.samples(rec.session.id)
        labels = {
            "title": t("report.chart"), "kbps": t("report.chart.kbps"),
            "highlight": t("report.chart.highlight"), "reconnect": t("report.chart.reconnect"),
            "dropped": t("report.chart.dropped"), "dropped.one": t("report.chart.dropped", n=1),
        }  # fmt: skip
        chart = ""
        if samples:
            chart = report_chart.chart(samples, rec.session.markers, rec.duration_s or 0.0, labels)
        words = [t(key, **values) for key, values in history.report(rec, samples)]
        return page(
            "recordings_one.html", code, r=rec, joined=joined, recording_now=now,
            highlights=highlights(rec, joined), caption=caption(rec), chart=chart,
            words=words, error=error, defaults=(clips.DEFAULT_BEFORE_S, clips.DEFAULT_AFTER_S),
            max_clip=clips.MAX_CLIP_S,
            peak=history.peak_temperature(rec.session, samples),
        )  # fmt: skip

    @bp.get("/recordings/<session_id>")
    def report(session_id: str) -> Any:
        return show(find(session_id))

    def download_name(rec: history.Recording, suffix: str) -> str:
        stamp = history.time.strftime("%Y-%m-%d", history.time.localtime(rec.session.started_at))
        return f"{naming.slug(rec.session.title) or 'broadcast'}-{stamp}{suffix}.mp4"

    @bp.get("/recordings/<session_id>/video.mp4")
    def video(session_id: str) -> Any:
        rec = find(session_id)
        not_while_recording(rec)
        joined = videos.get(rec)
        if joined is None:
            abort(404, description=t("recordings.no_video"))
        size = joined.size
        start, stop, status = 0, size, 200
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{rec.session.id}-{size}"',
                   "Cache-Control": "private, no-cache"}  # fmt: skip
        rng = request.range
        if request.headers.get("Range") and (
            rng is None or rng.units != "bytes" or len(rng.ranges) != 1
        ):
            rng = None  # not one byte range: the whole file, as HTTP allows
        if rng is not None:
            got = rng.range_for_length(size)
            if got is None:
                return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
            start, stop = got
            status = 206
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        if request.args.get("download") == "1":
            headers["Content-Disposition"] = f'attachment; filename="{download_name(rec, "")}"'
        headers["Content-Length"] = str(stop - start)
        return Response(joined.read(start, stop - start), status, headers=headers,
                        mimetype="video/mp4", direct_passthrough=True)  # fmt: skip

    @bp.get("/recordings/<session_id>/thumbnail.jpg")
    def thumbnail(session_id: str) -> Any:
        rec = find(session_id)
        if not rec.files or not recfiles.folder_ok(recordings_root(), rec.folder):
            abort(404, description=t("recordings.no_video"))
        if not recfiles.regular_files(rec.folder, re.compile(re.escape(recfiles.THUMBNAIL))):
            if (rec.folder / recfiles.THUMBNAIL).is_symlink() or recording_now(rec):
                abort(404, description=t("recordings.no_video"))
            make_thumbnail(rec)
        try:
            fd = recfiles.open_regular(rec.folder, recfiles.THUMBNAIL)
        except OSError:
            abort(404, description=t("recordings.no_video"))
        return send_file(os.fdopen(fd, "rb"), mimetype="image/jpeg", max_age=3600)

    def make_thumbnail(rec: history.Recording) -> None:
        fd, tmp = tempfile.mkstemp(dir=rec.folder, prefix=".thumb-", suffix=".jpg")
        os.close(fd)
        argv = clips.thumbnail_argv(ffmpeg, rec.folder / rec.files[0][0], Path(tmp))
        argv = clips.low_priority(argv, shutil.which("nice"), None)
        try:
            subprocess.run(argv, check=True, capture_output=True, timeout=THUMBNAIL_TIMEOUT_S)
            if os.path.getsize(tmp) > 0:
                os.replace(tmp, rec.folder / recfiles.THUMBNAIL)
        except (OSError, subprocess.SubprocessError):
            log.warning("no thumbnail for %s", rec.folder, exc_info=True)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @bp.post("/recordings/<session_id>/keep")
    def keep(session_id: str) -> Any:
        rec = find(session_id)
        deps.store.set_keep(rec.session.id, flag("keep"))
        return redirect(url_for("recordings.report", session_id=rec.session.id) + "#keep", 303)

    @bp.post("/recordings/<session_id>/delete")
    def delete(session_id: str) -> Any:
        rec = find(session_id)
        if recording_now(rec):
            items = [history.recording(s, recordings_root()) for s in deps.store.sessions()]
            return page("recordings.html", 409, items=items, current=rec.session.id,
                        error=t("recordings.busy"))  # fmt: skip
        history.delete(deps.store, recordings_root(), rec.session)
        return redirect(url_for("recordings.index"), 303)

    # -- clips ----------------------------------------------------------------------

    def seconds(name: str) -> float:
        raw = request.form.get(name, "").strip()
        if not SECONDS.match(raw):
            abort(400, description=t("recordings.bad_seconds", max=int(clips.MAX_CLIP_S)))
        return float(raw)

    @bp.post("/recordings/<session_id>/highlights/<n>/clip")
    def clip_export(session_id: str, n: str) -> Any:
        rec = find(session_id)
        marker = marker_of(rec, n)
        before, after = seconds("before"), seconds("after")
        if before + after > clips.MAX_CLIP_S or before + after < clips.MIN_CLIP_S:
            abort(400, description=t("recordings.bad_seconds", max=int(clips.MAX_CLIP_S)))
        not_while_recording(rec)
        joined = videos.get(rec)
        if joined is None:
            abort(409, description=t("recordings.no_video"))
        at = next(h["video_s"] for h in highlights(rec, joined) if h["n"] == marker)
        try:
            p = clips.plan(at, before, after, joined.duration_s, joined.keyframes_s,
                           joined.frames_s)  # fmt: skip
        except clips.ClipError:
            abort(400, description=t("recordings.clip_too_short"))
        clip_id = deps.store.save_clip(rec.session.id, marker, p.start_s, p.end_s, p.method)
        jobs.submit(clip_id)
        if wants_json():
            return jsonify(clip_view(rec, deps.store.clip(clip_id))), 202  # type: ignore[arg-type]
        return redirect(
            url_for("recordings.report", session_id=rec.session.id) + f"#h{marker}", 303
        )

    @bp.get("/recordings/<session_id>/clips.json")
    def clip_states(session_id: str) -> Any:
        rec = find(session_id)
        return jsonify([clip_view(rec, c) for c in deps.store.clips(rec.session.id)])

    @bp.get("/recordings/<session_id>/highlights/<n>/clip.mp4")
    def clip_file(session_id: str, n: str) -> Any:
        rec = find(session_id)
        marker = marker_of(rec, n)
        c = next((c for c in deps.store.clips(rec.session.id) if c.marker == marker), None)
        if c is None or c.state != "done" or not recfiles.CLIP.match(c.file):
            abort(404, description=t("recordings.no_clip"))
        if not recfiles.folder_ok(recordings_root(), rec.folder):
            abort(404, description=t("recordings.no_clip"))
        try:
            fd = recfiles.open_regular(rec.folder / recfiles.CLIPS, c.file)
        except OSError:
            abort(404, description=t("recordings.no_clip"))
        return send_file(os.fdopen(fd, "rb"), mimetype="video/mp4", as_attachment=True,
                         download_name=download_name(rec, f"-highlight-{marker}"))  # fmt: skip

    @bp.post("/recordings/<session_id>/highlights/<n>/keep")
    def clip_keep(session_id: str, n: str) -> Any:
        rec = find(session_id)
        marker = marker_of(rec, n)
        c = next((c for c in deps.store.clips(rec.session.id) if c.marker == marker), None)
        if c is None:
            abort(404, description=t("recordings.no_clip"))
        deps.store.set_clip_keep(c.id, flag("keep"))
        return redirect(
            url_for("recordings.report", session_id=rec.session.id) + f"#h{marker}", 303
        )

    bp.jobs = jobs  # type: ignore[attr-defined]  # for the tests: wait until exported
    return bp
