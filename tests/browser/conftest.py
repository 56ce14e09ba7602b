"""The console in a real browser: Debian's Chromium, headless, driven by Playwright's Python client
(scripts/setup_browser.sh installs both, and axe-core for the accessibility check). Every request
the page makes is kept, to check that none goes anywhere but the local API and its bucket."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless Chromium on a closed network: no background calls home, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Console:
    """One tab on the console, with the requests it made."""

    def __init__(self, page, server) -> None:
        self.page = page
        self.server = server
        self.requests: list[tuple[str, str]] = []
        page.on("request", lambda request: self.requests.append((request.method, request.url)))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def open(self, key: str | None = None) -> Console:
        # The address the server printed at start-up.
        self.page.goto(re.search(r"The web console .*: (\S+)", self.server.banner)[1])
        if key:
            self.page.fill("#appkey", key)
        return self

    def read(self, path: Path, **options: str) -> Console:
        self.page.set_input_files("#file", str(path))
        for name, value in options.items():
            self.page.locator(f"#{name}").select_option(value)
        self.page.click("#read")
        self.wait_until_done()
        return self

    def wait_until_done(self, timeout_ms: int = 90_000) -> None:
        """Until the request the click started has its answer shown (the buttons are disabled
        from the click until then)."""
        self.page.wait_for_function("() => !document.getElementById('read').disabled", timeout=timeout_ms)

    def answer(self) -> dict:
        import json

        return json.loads(self.page.text_content("#json"))

    def screenshot(self, name: str) -> Path:
        return save_screenshot(self.page, name)


def save_screenshot(page, name: str) -> Path:
    """The whole page as build/screenshots/NAME.png (docs/console.md shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot():
    return save_screenshot


@pytest.fixture
def axe_script() -> Path:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE}: run scripts/setup_browser.sh")
    return AXE


@pytest.fixture
def console(browser, local_server) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    tab = Console(page, local_server)
    yield tab
    context.close()
