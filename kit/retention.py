"""Room for new recordings: the oldest finished broadcasts are removed to keep
``[recording] min_free_mb`` free, before and during a broadcast.

Never the broadcast being recorded, never one the creator marked *keep* on the
recordings page (nor one with a clip marked keep), and only folders that are recordings
(kit.recfiles: inside the recordings folder, not a symlink). ``[recording] retention =
false`` turns it off; the pre-flight check then refuses to go live on a full card, as
before.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from kit import recfiles
from kit.store import Store

log = logging.getLogger(__name__)


def make_room(
    store: Store,
    root: Path,
    need_bytes: int,
    current: int | None = None,
    free: Callable[[], int] | None = None,
) -> list[int]:
    """Remove the oldest finished recordings until ``need_bytes`` are free (or none is
    left that may go); the ids removed, oldest first."""
    free_now = free or (lambda: shutil.disk_usage(root).free)
    removed: list[int] = []
    if free_now() >= need_bytes:
        return removed
    oldest_first = sorted(store.sessions(where="ended_at IS NOT NULL"), key=lambda s: s.id)
    for s in oldest_first:
        if free_now() >= need_bytes:
            break
        if s.id == current or s.keep or any(c.keep for c in store.clips(s.id)):
            continue
        log.warning(
            "recordings: removing broadcast %d (%s) to keep %d MB free",
            s.id, s.title or "untitled", need_bytes // 2**20,
        )  # fmt: skip
        try:
            recfiles.remove(root, Path(s.dir))
        except OSError:
            log.warning("removing %s failed", s.dir, exc_info=True)
            continue
        store.delete_session(s.id)
        removed.append(s.id)
    if free_now() < need_bytes:
        log.warning("recordings: %d MB not free, and nothing more may go", need_bytes // 2**20)
    return removed
