"""The title counted as TikTok counts it, in grapheme clusters, by the kit: the same table
(tests/title_graphemes.json) is checked against the page's counter in Chromium
(tests/e2e/test_title_count_e2e.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kit.config import MAX_TITLE, check_title_length, title_length

TABLE = json.loads(
    (Path(__file__).resolve().parents[1] / "title_graphemes.json").read_text(encoding="utf-8")
)["rows"]


@pytest.mark.parametrize("row", TABLE, ids=[r["what"] for r in TABLE])
def test_title_length(row: dict[str, object]) -> None:
    assert title_length(str(row["text"])) == row["length"]


def test_thirty_two_flags_fit_and_thirty_three_do_not() -> None:
    assert check_title_length("🇸🇪" * MAX_TITLE) is None
    too_long = check_title_length("🇸🇪" * (MAX_TITLE + 1))
    assert too_long is not None and "has 33" in str(too_long)
