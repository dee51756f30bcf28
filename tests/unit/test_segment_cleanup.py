"""kit.media.supervisor.drop_if_empty: a segment with no readable frame is removed, one with
media is kept (checked with the real ffprobe on files made by the real ffmpeg)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kit.media.supervisor import drop_if_empty


def fragmented_mp4(path: Path, seconds: float) -> None:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=30:d={seconds}",
         "-c:v", "libx264", "-g", "30", "-movflags", "+frag_keyframe+empty_moov+default_base_moof",
         "-y", str(path)],
        check=True,
    )  # fmt: skip


def test_a_segment_with_media_is_kept(tmp_path: Path) -> None:
    part = tmp_path / "part-0000.mp4"
    fragmented_mp4(part, 2)
    assert not drop_if_empty(part)
    assert part.exists()


def test_a_segment_cut_before_its_first_fragment_is_removed(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp4"
    fragmented_mp4(whole, 2)
    data = whole.read_bytes()
    # What an ffmpeg killed early leaves: the header (ftyp+moov), no fragment yet...
    header_only = tmp_path / "part-0001.mp4"
    header_only.write_bytes(data[: data.index(b"moof") - 4])
    # ...or nothing at all.
    empty = tmp_path / "part-0002.mp4"
    empty.write_bytes(b"")
    for part in (header_only, empty):
        assert drop_if_empty(part), part
        assert not part.exists()


def test_a_segment_cut_mid_fragment_plays_up_to_it_and_is_kept(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp4"
    fragmented_mp4(whole, 3)
    data = whole.read_bytes()
    cut = tmp_path / "part-0003.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert not drop_if_empty(cut)
