"""Fixtures of the browser suite: one Chromium for the whole session, the built site served on
127.0.0.1, and one reusable tab per viewing mode (light desktop, dark desktop, phone).

Environment:
    SITE_DIR   the built site (default: <book>/_build/html); it must exist: `make book` builds it
    BOOK_DIR   the book's sources, holding _toc.yml and _config.yml (default: the repository root)
    CHROMIUM   the browser binary (default: /usr/bin/chromium, else `chromium` on the PATH)
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from .book import SiteServer, site_dir
from .checks import AXE_PATH, DESKTOP, PHONE, Tab, enable_dark_mode


def _chromium() -> str:
    """CHROMIUM, else Debian's /usr/bin/chromium, else a chromium on the PATH (GitHub's runners)."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: tests that drive the built site in headless Chromium")


@pytest.fixture(scope="session")
def site() -> Path:
    root = site_dir()
    if not (root / "index.html").is_file():
        pytest.fail(f"no built site at {root}: run `make book` first (or set SITE_DIR to a built site)",
                    pytrace=False)
    return root


@pytest.fixture(scope="session")
def server(site):
    with SiteServer(site) as running:
        yield running


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_PATH.is_file():
        pytest.fail(f"{AXE_PATH} is missing: run `npm ci` at the repository root", pytrace=False)
    return AXE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = _chromium()
    if not Path(chromium).is_file():
        pytest.fail(f"Chromium not found at {chromium}: `apt-get install -y chromium` (or set CHROMIUM)",
                    pytrace=False)
    # Nothing may leave 127.0.0.1: every other request goes to a proxy port that is bound but never
    # listens, so it is refused at once (the tests record it and fail the page).
    with socket.socket() as dead_proxy, sync_api.sync_playwright() as playwright:
        dead_proxy.bind(("127.0.0.1", 0))
        offline = [f"--proxy-server=http://127.0.0.1:{dead_proxy.getsockname()[1]}", "--proxy-bypass-list=127.0.0.1"]
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS + offline, headless=True)
        yield launched
        launched.close()


def _tab(browser, server, *, dark: bool = False, **options):
    context = browser.new_context(color_scheme="dark" if dark else "light", **options)
    context.set_default_timeout(30_000)
    if dark:
        enable_dark_mode(context)
    else:
        # Every page is checked as a first-time visitor sees it (one who arrives from a search
        # engine): nothing remembered from the pages visited before.
        context.add_init_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
    return context, Tab(context.new_page(), server.origin)


@pytest.fixture(scope="session")
def light_tab(browser, server):
    context, tab = _tab(browser, server, viewport=DESKTOP)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def dark_tab(browser, server):
    context, tab = _tab(browser, server, dark=True, viewport=DESKTOP)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def phone_tab(browser, server):
    context, tab = _tab(browser, server, viewport=PHONE, is_mobile=True, has_touch=True)
    yield tab
    context.close()
