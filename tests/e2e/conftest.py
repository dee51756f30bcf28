"""What the page's end-to-end tests share: Debian's Chromium driven by Playwright, at a
phone's size, against the kit running in simulation; screenshots in tests/artifacts/e2e/.
Never skipped in CI (CI=true): a missing Chromium or Playwright is a failure there."""

from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kitproc import KitProcess

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "e2e"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "en-GB"}  # fmt: skip


@dataclass(frozen=True)
class E2E:
    sync_playwright: Any
    expect: Any
    artifacts: Path

    def launch(self, p: Any) -> Any:
        """Headless Chromium from a started ``sync_playwright()``."""
        return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)

    def phone(self, browser: Any, **overrides: Any) -> Any:
        """A browser context the size of a phone (390x844, touch, en-GB)."""
        return browser.new_context(**(PHONE | overrides))

    def shot(self, page: Any, name: str) -> None:
        page.screenshot(path=str(self.artifacts / f"{name}.png"), full_page=True)

    @staticmethod
    def first_run(page: Any, base: str, password: str) -> None:
        """A new kit's first visit: it asks for a password, then offers the first setup's
        steps (destination, title, checklist: tests/e2e/test_first_visit_e2e.py)."""
        page.goto(base + "/")
        assert page.url.endswith("/setup"), page.url
        page.get_by_label("New password").fill(password)
        page.get_by_label("The same password again").fill(password)
        page.get_by_role("button", name="Set password").click()
        page.wait_for_url(base + "/welcome")

    @staticmethod
    def base_url(kit: KitProcess) -> str:
        web = tomllib.loads(kit.config.read_text())["web"]
        return f"http://{web['host']}:{web['port']}"


# axe-core from npm (install.sh --dev: axe_core), injected into the page by the tests.
AXE = Path(os.environ.get("KIT_AXE", "/var/cache/kit/axe/node_modules/axe-core/axe.min.js"))


@pytest.fixture
def axe_source() -> str:
    """axe-core's script. Never skipped in CI (CI=true): missing there is a failure."""
    if not AXE.is_file():
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{AXE} is missing: run ./install.sh --dev")
        pytest.skip(f"axe-core is not installed at {AXE} (./install.sh --dev)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def e2e() -> E2E:
    in_ci = os.environ.get("CI") == "true"
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        if in_ci:
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not shutil.which(CHROMIUM):
        if in_ci:
            raise AssertionError(f"{CHROMIUM} is missing: run ./install.sh --dev")
        pytest.skip("Debian's chromium is not installed (./install.sh --dev)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return E2E(sync_playwright, expect, ARTIFACTS)
