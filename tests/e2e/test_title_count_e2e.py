"""The title counted the same way on the page (Chromium's Intl.Segmenter, graphemes) as on
the kit (kit/config.py title_length): the one table, tests/title_graphemes.json, checked
here through the page's own counting function and its counter, then saved on the kit.
The login page names the kit."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.kitproc import KitProcess, write_config

if TYPE_CHECKING:
    from tests.e2e.conftest import E2E

pytestmark = pytest.mark.slow

PASSWORD = "a long phone password"
TABLE = json.loads(
    (Path(__file__).resolve().parents[1] / "title_graphemes.json").read_text(encoding="utf-8")
)["rows"]


def test_the_page_counts_the_title_as_the_kit_does(tmp_path: Path, e2e: E2E) -> None:
    root = tmp_path / "kit"
    root.mkdir()
    kit = KitProcess(write_config(root, "", key="", title=""), root / "daemon.log")
    kit.start()
    base = e2e.base_url(kit)
    try:
        with e2e.sync_playwright() as p:
            page = e2e.phone(e2e.launch(p)).new_page()
            e2e.first_run(page, base, PASSWORD)
            page.get_by_role("link", name="Title", exact=True).click()

            # The page's counting function, row by row.
            texts = [r["text"] for r in TABLE]
            got = page.evaluate("texts => texts.map(window.kitTitleLength)", texts)
            wrong = [
                (r["what"], r["length"], n)
                for r, n in zip(TABLE, got, strict=True)
                if n != r["length"]
            ]
            assert not wrong, f"(row, the kit's count, the page's): {wrong}"

            # The counter a creator sees, and the kit agreeing on save: 32 flags fit.
            title = page.locator("#title")
            title.fill("🇸🇪" * 32)
            e2e.expect(page.locator("#title-count")).to_have_text("32/32")
            page.get_by_role("button", name="Save").click()
            e2e.expect(page.locator("#note")).to_have_text("Saved.")
            e2e.expect(title).to_have_value("🇸🇪" * 32)
            title.fill("🇸🇪" * 33)
            e2e.expect(page.locator("#title-count")).to_have_text("33/32")
            page.get_by_role("button", name="Save").click()
            e2e.expect(page.get_by_text("has 33")).to_be_visible()

            # The login page says whose kit this is.
            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(base + "/login")
            e2e.expect(page.locator(".kit-name")).to_have_text(
                f"This is the kit {socket.gethostname()}."
            )
    finally:
        kit.stop()
