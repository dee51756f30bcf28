"""The camera process's queue between the camera's thread and the feed's writer
(kit.media.camproc.FrameQueue): never blocks the camera, drops to the next keyframe when
ffmpeg falls behind."""

from __future__ import annotations

import threading

import pytest

from kit.media.camproc import FrameQueue

# (packets offered, K for a keyframe and d for the others; the limit) -> what a reader
# that reads nothing until the end gets.
ROWS = [
    ("Kddd", 8, "Kddd"),  # room: everything kept
    ("Kdddd", 3, "Kdd"),  # full at the 4th: dropped, and the rest up to a keyframe
    ("KddddK", 3, "Kdd"),  # a keyframe that finds no room is dropped too
]


@pytest.mark.parametrize(("offered", "limit", "kept"), ROWS)
def test_a_full_queue_drops(offered: str, limit: int, kept: str) -> None:
    q = FrameQueue(limit)
    for i, kind in enumerate(offered):
        q.put((kind, i), kind == "K")
    q.close()
    got = []
    while (item := q.get()) is not None:
        got.append(item[0])
    assert "".join(got) == kept
    assert q.dropped == len(offered) - len(kept)


def test_after_a_drop_the_stream_starts_again_at_a_keyframe() -> None:
    q = FrameQueue(2)
    for kind in "Kdd":  # the third is dropped: skipping now
        q.put(kind, kind == "K")
    assert [q.get(), q.get()] == ["K", "d"]  # the reader catches up
    assert not q.put("d", False)  # deltas after a gap would not decode: still dropped
    assert q.put("K", True) and q.put("d", False)
    assert [q.get(), q.get()] == ["K", "d"]
    assert q.dropped == 2


def test_put_never_waits_and_get_wakes_on_close() -> None:
    q = FrameQueue(2)
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(q.get()))
    reader.start()
    q.close()
    reader.join(timeout=5)
    assert not reader.is_alive() and got == [None]
    assert not q.put("K", True)  # closed: nothing more goes in
