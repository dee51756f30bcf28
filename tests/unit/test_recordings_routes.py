"""The recordings pages through Flask's test client, on a real (small) recording made by
ffmpeg as the kit cuts its segments: login, CSRF, a 400 with a message for every bad id
or number (never a 500), symlinks neither listed nor served, byte ranges, keep, delete,
a clip exported and downloaded, nothing of the broadcast being recorded."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kit.store import Sample
from tests.peers import segments
from tests.unit.test_web_routes import Kit, logged_in


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 25 s recording (10 s segments), made once, copied into each test's kit."""
    folder = tmp_path_factory.mktemp("made") / "rec"
    segments.recording(folder, 25)
    return folder


@pytest.fixture
def kit(tmp_path: Path, made: Path) -> Iterator[Kit]:
    k = Kit(tmp_path)
    yield k
    k.close()


def add(
    kit: Kit, made: Path, title: str = "Sale <b>", name: str = "2026-01-01_120000_sale"
) -> tuple[int, Path]:
    folder = kit.settings.current().recording.dir / name
    folder.mkdir(parents=True)
    for p in made.iterdir():
        os.link(p, folder / p.name)
    sid = kit.store.begin(title, folder, now=1000.0)
    for at in (12.5, 20.0):
        kit.store.add_marker(sid, at)
    for i in range(6):
        kit.store.add_sample(sid, Sample(i * 5.0, 2400 + i, i, i // 3, 60.0 + i, i * 5.0))
    kit.store.end(sid, "stopped", 1, 5, 2500.0, now=1025.0)
    return sid, folder


def test_the_pages_need_a_login_and_posts_the_csrf_token(kit: Kit, made: Path) -> None:
    sid, _ = add(kit, made)
    c = kit.app.test_client()
    for path in ("/recordings", f"/recordings/{sid}", f"/recordings/{sid}/video.mp4",
                 f"/recordings/{sid}/thumbnail.jpg", f"/recordings/{sid}/clips.json",
                 f"/recordings/{sid}/highlights/1/clip.mp4"):  # fmt: skip
        assert c.get(path).status_code == 302, path
    c, _ = logged_in(kit)
    for path, form in ((f"/recordings/{sid}/keep", {"keep": "1"}),
                       (f"/recordings/{sid}/delete", {}),
                       (f"/recordings/{sid}/highlights/1/clip", {"before": "5", "after": "5"}),
                       (f"/recordings/{sid}/highlights/1/keep", {"keep": "1"})):  # fmt: skip
        assert c.post(path, data=form).status_code == 403, path
        assert c.post(path, data={**form, "csrf": "wrong"}).status_code == 403, path
    s = kit.store.session(sid)
    assert s is not None and not s.keep and kit.store.clips(sid) == []


def test_the_list_and_the_broadcast_page(kit: Kit, made: Path) -> None:
    sid, _ = add(kit, made)
    c, _ = logged_in(kit)
    page = c.get("/recordings").text
    assert "Sale &lt;b&gt;" in page and "0:00:25" in page and "2 highlights" in page
    assert f"/recordings/{sid}/thumbnail.jpg" in page and "part-0000" not in page
    r = c.get(f"/recordings/{sid}")
    assert "media-src 'self'" in r.headers["Content-Security-Policy"]
    html = r.text
    assert f'src="/recordings/{sid}/video.mp4"' in html and "playsinline" in html
    assert 'data-seek="12.5"' in html and 'data-seek="20.0"' in html
    assert "<svg" in html and "You ended it." in html and "5 frames were dropped." in html
    assert "65.0 °C" in html  # the peak of the samples
    sv = c.get(f"/recordings/{sid}", headers={"Accept-Language": "sv"}).text
    assert "Du avslutade den." in sv and "Gör klippet" in sv
    thumb = c.get(f"/recordings/{sid}/thumbnail.jpg")
    assert thumb.status_code == 200 and thumb.data[:2] == b"\xff\xd8"


def boxes(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        out.append(kind)
        pos += size if size > 1 else len(data)
    return out


def test_the_video_is_one_mp4_moov_first_with_byte_ranges(kit: Kit, made: Path) -> None:
    sid, _ = add(kit, made)
    c, _ = logged_in(kit)
    whole = c.get(f"/recordings/{sid}/video.mp4")
    assert whole.status_code == 200 and whole.mimetype == "video/mp4"
    assert whole.headers["Accept-Ranges"] == "bytes"
    size = int(whole.headers["Content-Length"])
    assert len(whole.data) == size and boxes(whole.data) == [b"ftyp", b"moov", b"mdat"]
    part = c.get(f"/recordings/{sid}/video.mp4", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.data == whole.data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{size}"
    tail = c.get(f"/recordings/{sid}/video.mp4", headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.data == whole.data[-100:]
    assert c.get(f"/recordings/{sid}/video.mp4",
                 headers={"Range": f"bytes={size}-"}).status_code == 416  # fmt: skip
    assert c.get(f"/recordings/{sid}/video.mp4", headers={"Range": "bytes=oops"}).status_code == 200
    dl = c.get(f"/recordings/{sid}/video.mp4?download=1")
    assert dl.headers["Content-Disposition"].startswith('attachment; filename="sale-b-')


@pytest.mark.parametrize(
    ("method", "path", "form", "code", "says"),
    [
        ("GET", "/recordings/abc", {}, 400, "Not a number: 'abc'"),
        ("GET", "/recordings/99999999999999999999", {}, 400, "Not a number"),
        ("GET", "/recordings/-1/video.mp4", {}, 400, "Not a number"),
        ("GET", "/recordings/77", {}, 404, "No such recording."),
        ("GET", "/recordings/{sid}/highlights/x/clip.mp4", {}, 400, "(highlight)"),
        ("GET", "/recordings/{sid}/highlights/4/clip.mp4", {}, 404, "no highlight 4"),
        ("GET", "/recordings/{sid}/highlights/1/clip.mp4", {}, 404, "No clip"),
        ("POST", "/recordings/{sid}/keep", {"keep": "yes"}, 400, "Keep must be 0 or 1."),
        ("POST", "/recordings/{sid}/highlights/1/clip", {"before": "nan", "after": "5"}, 400,
         "Before and after"),
        ("POST", "/recordings/{sid}/highlights/1/clip", {"before": "1e9", "after": "5"}, 400,
         "Before and after"),
        ("POST", "/recordings/{sid}/highlights/1/clip", {"before": "50", "after": "20"}, 400,
         "Before and after"),
        ("POST", "/recordings/{sid}/highlights/1/clip", {"before": "0", "after": "0.5"}, 400,
         "Before and after"),
        ("POST", "/recordings/{sid}/highlights/1/clip", {"before": "-5", "after": "5"}, 400,
         "Before and after"),
        ("POST", "/recordings/{sid}/highlights/2/clip", {"before": "0", "after": "9"}, 400,
         "shorter than 1 s"),  # the highlight is at the video's very end
        ("POST", "/recordings/{sid}/highlights/0/clip", {"before": "5", "after": "5"}, 404,
         "no highlight 0"),
        ("POST", "/recordings/{sid}/highlights/1/keep", {"keep": "1"}, 404, "No clip"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_with_a_message(
    kit: Kit, made: Path, method: str, path: str, form: dict[str, str], code: int, says: str
) -> None:
    sid, _ = add(kit, made)
    kit.store.add_marker(sid, 26.0)  # a third, where the video ends
    if "highlights/2/" in path:
        path = path.replace("highlights/2/", "highlights/3/")
    c, token = logged_in(kit)
    r = c.open(path.format(sid=sid), method=method, data={**form, "csrf": token})
    assert r.status_code == code, r.text
    assert says in r.get_json()["error"]


def test_symlinks_are_neither_listed_nor_served(kit: Kit, made: Path, tmp_path: Path) -> None:
    sid, folder = add(kit, made)
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"not yours")
    (folder / "part-0009.mp4").symlink_to(secret)  # a segment that is a link
    (folder / "thumbnail.jpg").symlink_to(secret)
    c, _ = logged_in(kit)
    page = c.get("/recordings").text
    assert "0:00:25" in page
    whole = c.get(f"/recordings/{sid}/video.mp4").data
    assert b"not yours" not in whole and len(whole) < 5_000_000
    assert c.get(f"/recordings/{sid}/thumbnail.jpg").status_code == 404
    # A recording whose folder is a link to elsewhere has nothing to show.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for p in made.iterdir():
        os.link(p, elsewhere / p.name)
    link = kit.settings.current().recording.dir / "linked"
    link.symlink_to(elsewhere)
    other = kit.store.begin("Linked", link, now=2000.0)
    kit.store.add_marker(other, 5.0)
    kit.store.end(other, "stopped", 0, 0, 2500.0, now=2025.0)
    assert c.get(f"/recordings/{other}/video.mp4").status_code == 404
    assert c.get(f"/recordings/{other}/thumbnail.jpg").status_code == 404
    r = c.post(f"/recordings/{other}/highlights/1/clip",
               data={"csrf": csrf(c), "before": "3", "after": "2"})  # fmt: skip
    assert r.status_code == 409
    assert not (elsewhere / "clips").exists() and not (elsewhere / "thumbnail.jpg").exists()
    # Deleting it removes the record, never what the link points at.
    assert c.post(f"/recordings/{other}/delete", data={"csrf": csrf(c)}).status_code == 303
    assert link.is_symlink() and (elsewhere / "part-0000.mp4").exists()


def csrf(c: Any) -> str:
    from tests.unit.test_web_routes import csrf_of

    return csrf_of(c.get("/").text)


def test_a_clip_is_exported_kept_and_downloaded(kit: Kit, made: Path) -> None:
    sid, folder = add(kit, made)
    c, token = logged_in(kit)
    r = c.post(f"/recordings/{sid}/highlights/1/clip", data={"csrf": token, "before": "8",
               "after": "4"}, headers={"Accept": "application/json"})  # fmt: skip
    assert r.status_code == 202 and r.get_json()["state"] == "queued"
    assert kit.app.blueprints["recordings"].jobs.wait_idle(30)  # type: ignore[attr-defined]
    (done,) = c.get(f"/recordings/{sid}/clips.json").get_json()
    assert done["state"] == "done" and done["progress"] == 1.0, done
    assert 11.0 <= done["end_s"] - done["start_s"] <= 12.5
    dl = c.get(done["url"])
    kinds = boxes(dl.data)
    assert dl.status_code == 200 and kinds[:2] == [b"ftyp", b"moov"] and b"mdat" in kinds
    assert dl.headers["Content-Disposition"].startswith("attachment; filename=sale-b-")
    assert dl.headers["Content-Disposition"].endswith("-highlight-1.mp4")
    assert c.post(f"/recordings/{sid}/highlights/1/keep",
                  data={"csrf": token, "keep": "1"}).status_code == 303  # fmt: skip
    assert kit.store.clips(sid)[0].keep
    page = c.get(f"/recordings/{sid}").text
    assert done["url"] in page and "Clip kept" in page
    # Without the page's script: the form posts and comes back to the highlight.
    r = c.post(f"/recordings/{sid}/highlights/2/clip", data={"csrf": token, "before": "3",
               "after": "2"})  # fmt: skip
    assert r.status_code == 303 and r.location.endswith(f"/recordings/{sid}#h2")
    assert kit.app.blueprints["recordings"].jobs.wait_idle(30)  # type: ignore[attr-defined]
    assert sorted(p.name for p in (folder / "clips").iterdir()) == ["clip-1.mp4", "clip-2.mp4"]


def test_keep_and_delete(kit: Kit, made: Path) -> None:
    sid, folder = add(kit, made)
    c, token = logged_in(kit)
    assert c.post(f"/recordings/{sid}/keep", data={"csrf": token, "keep": "1"}).status_code == 303
    assert kit.store.session(sid).keep  # type: ignore[union-attr]
    assert "Kept" in c.get("/recordings").text
    assert c.post(f"/recordings/{sid}/keep", data={"csrf": token, "keep": "0"}).status_code == 303
    assert not kit.store.session(sid).keep  # type: ignore[union-attr]
    assert c.post(f"/recordings/{sid}/delete", data={"csrf": token}).status_code == 303
    assert not folder.exists() and kit.store.session(sid) is None


def test_nothing_of_the_broadcast_being_recorded(kit: Kit, made: Path) -> None:
    sid, _ = add(kit, made)
    running = kit.store.begin("Now", kit.settings.current().recording.dir / "now", now=3000.0)
    kit.store.add_marker(running, 1.0)
    c, token = logged_in(kit)
    assert "Recording now." in c.get(f"/recordings/{running}").text
    assert c.get(f"/recordings/{running}/video.mp4").status_code == 409
    r = c.post(f"/recordings/{running}/highlights/1/clip",
               data={"csrf": token, "before": "1", "after": "1"})  # fmt: skip
    assert r.status_code == 409
    assert c.get(f"/recordings/{sid}").status_code == 200
