"""A recording's folder on disk: its segments and clips, read only as regular files.

Every session folder lies directly inside the recordings folder. Nothing here follows a
symlink: a folder that is a symlink is not a recording, and a symlink (or anything but a
regular file) inside one is neither listed nor served.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
from pathlib import Path

from kit.store import Store

log = logging.getLogger(__name__)

SEGMENT = re.compile(r"^part-\d{4,}\.mp4$")
CLIPS = "clips"
CLIP = re.compile(r"^clip-\d{1,9}\.mp4$")
THUMBNAIL = "thumbnail.jpg"


def folder_ok(root: Path, folder: Path) -> bool:
    """``folder`` is a real folder (not a symlink) directly inside the real ``root``."""
    try:
        if folder.is_symlink() or not folder.is_dir():
            return False
        return folder.resolve().parent == root.resolve() and folder.resolve().name == folder.name
    except OSError:
        return False


def regular_files(folder: Path, pattern: re.Pattern[str]) -> list[tuple[str, int]]:
    """(name, bytes) of the regular files (never a symlink) whose name matches, by name."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    out = []
    for e in entries:
        if pattern.match(e.name):
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                out.append((e.name, st.st_size))
    return sorted(out)


def open_regular(folder: Path, name: str) -> int:
    """A read-only descriptor of the regular file ``name`` in ``folder``, neither of them
    reached through a symlink. Raises OSError (FileNotFoundError for anything else)."""
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FileNotFoundError(name)
    return fd


def remove(root: Path, folder: Path) -> None:
    """Remove a recording's folder, only if it is one (inside ``root``, not a symlink)."""
    if folder_ok(root, folder):
        shutil.rmtree(folder)


def discard(store: Store, root: Path, folder: Path, session_id: int) -> None:
    """An attempt that never went on air (a rejected key, an unreachable server, ended
    while connecting): its folder and its record go, so it leaves nothing behind."""
    log.info("broadcast %d never went on air: its recording is removed", session_id)
    try:
        remove(root, folder)
    except OSError:
        log.warning("removing %s failed", folder, exc_info=True)
    store.delete_session(session_id)
