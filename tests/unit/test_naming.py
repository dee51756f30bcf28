"""kit.naming: recording folder names from the date and the title."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.naming import MAX_SLUG, session_dir, slug


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Friday Sale 🎉 50%!", "friday-sale-50"),
        ("friday-sale", "friday-sale"),
        ("  Hello   World  ", "hello-world"),
        ("Café crème", "cafe-creme"),
        ("100% off", "100-off"),  # '%' would be a format in ffmpeg's segment pattern
        ("../../etc/passwd", "etc-passwd"),
        ("a/b\\c", "a-b-c"),
        ("..", ""),
        ("🎉🎉🎉", ""),
        ("", ""),
        ("日本語", ""),
        ("x" * 100, "x" * MAX_SLUG),
        ("a" * 39 + " b", "a" * 39),  # cut at 40 lands after '-': no trailing dash
        ("ÅNGSTRÖM_2024", "angstrom-2024"),
    ],
    ids=["emoji-percent", "already-slug", "spaces", "accents", "percent", "dotdot-path",
         "slashes", "dotdot-only", "emoji-only", "empty", "cjk", "very-long",
         "cut-before-dash", "upper-underscore"],
)  # fmt: skip
def test_slug(title: str, expected: str) -> None:
    s = slug(title)
    assert s == expected
    assert len(s) <= MAX_SLUG
    assert set(s) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # session_dir uses local time: pin it so the expected names are fixed.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


NOW = 1795578495.0  # 2026-11-25 03:48:15 UTC


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize(
    ("title", "name"),
    [("Friday Sale", "2026-11-25_034815_friday-sale"),
     ("🎉", "2026-11-25_034815_broadcast"),
     ("", "2026-11-25_034815_broadcast")],
    ids=["title", "emoji-only", "no-title"],
)  # fmt: skip
def test_session_dir_name(tmp_path: Path, title: str, name: str) -> None:
    assert session_dir(tmp_path, title, NOW) == tmp_path / name


@pytest.mark.usefixtures("utc")
def test_session_dir_is_unique(tmp_path: Path) -> None:
    seen = []
    for _ in range(4):
        d = session_dir(tmp_path, "Friday Sale", NOW)
        assert not d.exists()
        d.mkdir()
        seen.append(d.name)
    base = "2026-11-25_034815_friday-sale"
    assert seen == [base, f"{base}-2", f"{base}-3", f"{base}-4"]


@pytest.mark.usefixtures("utc")
def test_session_dir_does_not_create(tmp_path: Path) -> None:
    session_dir(tmp_path, "x", NOW)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("utc")
def test_session_dir_treats_a_file_as_taken(tmp_path: Path) -> None:
    (tmp_path / "2026-11-25_034815_x").write_text("")
    assert session_dir(tmp_path, "x", NOW).name == "2026-11-25_034815_x-2"
