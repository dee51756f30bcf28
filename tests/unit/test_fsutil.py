"""kit.fsutil.write_atomic: the old file or the new one, never half of either."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kit import fsutil
from kit.fsutil import write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("data", "expected"),
    [('key = "é"\n', 'key = "é"\n'.encode()), (b"\x00\xffraw", b"\x00\xffraw"), ("", b"")],
    ids=["str-utf8", "bytes", "empty"],
)
def test_content(tmp_path: Path, data: str | bytes, expected: bytes) -> None:
    path = tmp_path / "settings.toml"
    write_atomic(path, data)
    assert path.read_bytes() == expected


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o400], ids=oct)
def test_mode(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "f"
    write_atomic(path, "x", mode=mode)
    assert _mode(path) == mode


def test_default_mode_is_private(tmp_path: Path) -> None:
    path = tmp_path / "f"
    write_atomic(path, "secret")
    assert _mode(path) == 0o600


def test_replaces_existing_file_and_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("old, longer content")
    path.chmod(0o644)
    write_atomic(path, "new")
    assert path.read_text() == "new"
    # A world-readable old file must not keep its mode for the new secret.
    assert _mode(path) == 0o600


def test_creates_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "f"
    write_atomic(path, "x")
    assert path.read_text() == "x"


def test_no_temp_files_left(tmp_path: Path) -> None:
    path = tmp_path / "f"
    for i in range(3):
        write_atomic(path, str(i))
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


@pytest.mark.parametrize("fails", ["replace", "fsync"])
def test_failure_leaves_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    path = tmp_path / "f"
    path.write_text("old")
    path.chmod(0o600)

    def boom(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsutil.os, fails, boom)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_interrupt_also_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f"
    path.write_text("old")

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fsutil.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["f"]
