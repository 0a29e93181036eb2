"""Site-wide checks: every page built, every internal link resolves, search works, screenshots."""

from __future__ import annotations

import concurrent.futures
import os
import urllib.error
import urllib.parse
import urllib.request

import pytest

from . import checks
from .book import (
    Page,
    broken_internal_links,
    external_links,
    site_html_files,
    toc_pages,
)

pytestmark = pytest.mark.browser

PAGES = toc_pages()
SEARCH_TARGET = "chapters/03_causal_attention"
SCREENSHOTS = "_screenshots"


def test_every_toc_page_is_built(site):
    missing = [page.html for page in PAGES if not (site / page.html).is_file()]
    assert not missing, f"pages of _toc.yml missing from {site} (rebuild with `make book`): {missing}"
    sourceless = [page.docname for page in PAGES if page.source is None]
    assert not sourceless, f"_toc.yml lists pages without a source file: {sourceless}"


def test_internal_links_resolve(site):
    """Every relative <a href> of every page points at an existing file and #anchor."""
    problems = broken_internal_links(site)
    assert not problems, "broken internal links:\n  - " + "\n  - ".join(problems)
    assert len(site_html_files(site)) >= len(PAGES)


def test_search_works(server, light_tab):
    """The search page answers a query with a link that lands on the page holding the word."""
    root = PAGES[0]
    problems = checks.check_search(light_tab.page, server.url("search.html?q=attention"), root.html)
    assert not problems, "\n".join(problems)


@pytest.mark.skipif(SEARCH_TARGET not in {page.docname for page in PAGES},
                    reason=f"{SEARCH_TARGET} is not in _toc.yml yet: the search for 'causal' needs chapter 3")
def test_search_finds_causal_attention(server, light_tab):
    problems = checks.check_search(light_tab.page, server.url("search.html?q=causal"), f"{SEARCH_TARGET}.html")
    assert not problems, "\n".join(problems)


def _chapter() -> Page:
    """The page shown in the chapter screenshots: the first chapter notebook of the toc."""
    for candidates in ([p for p in PAGES if p.docname.startswith("chapters/") and p.is_notebook],
                       [p for p in PAGES if p.is_notebook], list(PAGES[1:2]), list(PAGES[:1])):
        if candidates:
            return candidates[0]
    raise AssertionError("the toc is empty")


def test_screenshots(site, server, light_tab, dark_tab, phone_tab):
    """Landing page and one chapter, light and dark (and the chapter on a phone), into the site.

    The dark ones are taken as a reader who chose dark mode sees them (the choice the theme keeps in
    localStorage), which also checks that the theme honours that choice."""
    folder = site / SCREENSHOTS
    folder.mkdir(exist_ok=True)
    shots = {}
    for label, page in (("landing", PAGES[0]), ("chapter", _chapter())):
        modes = [("light", light_tab), ("dark", dark_tab)] + ([("phone", phone_tab)] if label == "chapter" else [])
        for mode, tab in modes:
            tab.goto(server.url(page.html))
            if mode == "dark":
                theme = tab.page.evaluate("() => document.documentElement.dataset.theme")
                assert theme == "dark", f"{page.html}: a reader's choice of dark mode is ignored (data-theme={theme!r})"
                assert checks.page_background_lightness(tab.page) < 0.3, f"{page.html} is not dark in dark mode"
            path = folder / f"{label}-{mode}.png"
            tab.page.screenshot(path=str(path))
            shots[(label, mode)] = path.read_bytes()
    assert all(len(data) > 10_000 for data in shots.values()), "a screenshot is suspiciously small"


def _check_url(url: str) -> str | None:
    request = urllib.request.Request(url, headers={"User-Agent": "Mozilla/5.0 (attention-from-scratch link check)"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return None if response.status < 400 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return None if error.code in (401, 403, 429) else f"HTTP {error.code}"  # alive, but refuses robots
    except Exception as error:  # noqa: BLE001 - any network failure is a broken link
        return f"{type(error).__name__}: {error}"


def _launch_target(url: str) -> str:
    """Binder and Colab answer 200 for any path: check the GitHub file they would open instead."""
    parts = urllib.parse.urlsplit(url)
    if parts.netloc == "colab.research.google.com" and parts.path.startswith("/github/"):
        return "https://github.com/" + parts.path.removeprefix("/github/")
    if "/v2/gh/" in parts.path:
        owner, repo, branch = parts.path.split("/v2/gh/", 1)[1].split("/")[:3]
        path = urllib.parse.parse_qs(parts.query).get("urlpath", [""])[0].removeprefix("lab/").removeprefix("tree/")
        return f"https://github.com/{owner}/{repo}/blob/{branch}/{path}"
    return url


@pytest.mark.skipif(os.environ.get("CHECK_EXTERNAL_LINKS") != "1",
                    reason="external links are checked only where the internet exists: CHECK_EXTERNAL_LINKS=1")
def test_external_links(site):
    links = external_links(site)
    targets = {url: _launch_target(url) for url in links}
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(targets, pool.map(_check_url, targets.values())))
    broken = [f"{url} ({error}; on {', '.join(sorted(set(links[url]))[:3])})"
              for url, error in results.items() if error]
    assert not broken, "broken external links:\n  - " + "\n  - ".join(broken)
