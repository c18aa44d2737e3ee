"""The console in a real browser: Debian's Chromium driven by Playwright against the embedded
server as `make run` starts it (its own process, development sign-in on), with axe-core from
npm injected into every page checked. One server and one browser for all of them."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.support.processes import embedded_server

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
SCREENSHOTS = REPO / ".artifacts" / "screenshots"
SECRET = "browser-test-secret-0123456789-abcdefghij"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERIOUS = ("serious", "critical")
# Small, so that the console's answer to a file over the limit is tested with a small file.
ATTACHMENT_MAX_BYTES = 100_000


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Installed by scripts/chromium.sh when missing; a failure there fails the tests."""
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "chromium.sh")], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(f"no Chromium for the browser tests:\n{done.stderr}")
    return done.stdout.strip()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core as package-lock.json pins it (`npm ci` when it is not installed yet)."""
    axe = HERE / "node_modules" / "axe-core" / "axe.min.js"
    if not axe.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core for the browser tests")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed in {HERE}:\n{done.stderr}")
    return axe.read_text()


@pytest.fixture(scope="package")
def console_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's data directory: its SQLite event log and read models."""
    return tmp_path_factory.mktemp("console-data")


@pytest.fixture(scope="package")
def console_url(console_data_dir: Path) -> Iterator[str]:
    data_dir = console_data_dir
    extra = {
        "CUSTOMERHUB_CONSOLE_DEV_SIGN_IN": "true",
        "CUSTOMERHUB_ATTACHMENT_MAX_BYTES": str(ATTACHMENT_MAX_BYTES),
    }
    with embedded_server(data_dir, SECRET, extra_env=extra) as (base, _process):
        yield base


# Package scope: Playwright's sync API keeps an event loop of its own running while it is
# open, which the asyncio tests that follow this package could not start theirs beside.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@dataclass
class Console:
    """One signed-out browser tab on the console, and the checks every screen passes."""

    page: Page
    url: str
    axe: str

    def open(self, path: str) -> None:
        self.page.goto(self.url + path)

    def sign_in(self, name: str = "alice", role: str = "admin") -> None:
        self.open("/")
        self.page.get_by_label("Name").fill(name)
        self.page.get_by_label("Role").select_option(role)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()

    def screen(self, name: str) -> None:
        """Save a screenshot of this screen and assert axe finds nothing serious on it."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        self.page.add_script_tag(content=self.axe)
        results: dict[str, Any] = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        serious = [
            (violation["id"], violation["help"], [node["target"] for node in violation["nodes"]])
            for violation in results["violations"]
            if violation["impact"] in SERIOUS
        ]
        assert not serious, f"axe on {name}: {serious}"

    def create_customer(self, name: str, **fields: str) -> str:
        """Through the form; answers the new customer's page address."""
        self.open("/console/customers/new")
        self.page.get_by_label("Name", exact=True).fill(name)
        for label, value in {
            "Email": f"{uuid.uuid4().hex[:8]}@example.com",
            "Address": "12 rue de la Paix",
            "City": "Paris",
            "Country": "FR",
            **fields,
        }.items():
            self.page.get_by_label(label, exact=True).fill(value)
        self.page.get_by_role("button", name="Save").click()
        self.page.wait_for_load_state()
        anyway = self.page.get_by_role("button", name="Create anyway")
        if anyway.count():  # a name like another customer's: warned, created all the same
            anyway.click()
        expect(self.page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        return self.page.url.split("?")[0].removeprefix(self.url)


@pytest.fixture
def console(browser: Browser, console_url: str, axe_source: str) -> Iterator[Console]:
    context = browser.new_context(locale="en-GB", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Console(page=page, url=console_url, axe=axe_source)
    context.close()


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"
