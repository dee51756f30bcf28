"""kit.retention.make_room: the oldest finished recordings go first; never the current one,
one marked keep, one with a kept clip, or a folder that is not a recording. The store
and the folders are real; the free space is counted from the folders left."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit import retention
from kit.store import Store

MB = 2**20


@pytest.fixture
def kit(tmp_path: Path) -> tuple[Store, Path]:
    root = tmp_path / "recordings"
    root.mkdir()
    return Store(tmp_path / "kit.db"), root


def broadcast(store: Store, root: Path, name: str, *, ended: bool = True) -> int:
    folder = root / name
    folder.mkdir()
    (folder / "part-0000.mp4").write_bytes(b"x")
    sid = store.begin(name, folder)
    if ended:
        store.end(sid, "stopped", 0, 0, 2500.0)
    return sid


def free_when(root: Path, total_mb: int, each_mb: int):  # type: ignore[no-untyped-def]
    """A disk of total_mb where each recording folder takes each_mb."""
    return lambda: (total_mb - each_mb * sum(1 for p in root.iterdir() if p.is_dir())) * MB


def test_oldest_first_until_there_is_room(kit: tuple[Store, Path]) -> None:
    store, root = kit
    ids = [broadcast(store, root, f"b{i}") for i in range(4)]
    removed = retention.make_room(store, root, 250 * MB, free=free_when(root, 500, 100))
    assert removed == ids[:2]  # 500 - 4*100 = 100 free; two go to reach 300 >= 250
    assert sorted(p.name for p in root.iterdir()) == ["b2", "b3"]
    assert [s.id for s in store.sessions()] == [ids[3], ids[2]]


def test_never_the_current_one_nor_kept_ones(kit: tuple[Store, Path]) -> None:
    store, root = kit
    kept = broadcast(store, root, "kept")
    store.set_keep(kept, True)
    with_clip = broadcast(store, root, "clip-kept")
    clip = store.save_clip(with_clip, 1, 10.0, 50.0, "copy")
    store.set_clip_keep(clip, True)
    old = broadcast(store, root, "old")
    on_air = broadcast(store, root, "on-air", ended=False)
    removed = retention.make_room(
        store, root, 10_000 * MB, current=on_air, free=free_when(root, 500, 100)
    )
    assert removed == [old]  # nothing else may go, however little room there is
    assert sorted(p.name for p in root.iterdir()) == ["clip-kept", "kept", "on-air"]


def test_enough_room_removes_nothing(kit: tuple[Store, Path]) -> None:
    store, root = kit
    broadcast(store, root, "b0")
    assert retention.make_room(store, root, 10 * MB, free=lambda: 500 * MB) == []
    assert (root / "b0").is_dir()


def test_a_record_whose_folder_is_a_symlink_is_not_followed(
    kit: tuple[Store, Path], tmp_path: Path
) -> None:
    store, root = kit
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious").write_text("x")
    (root / "link").symlink_to(outside)
    store.end(store.begin("link", root / "link"), "stopped", 0, 0, 0.0)
    retention.make_room(store, root, 10_000 * MB, free=lambda: 0)
    assert (outside / "precious").exists()
