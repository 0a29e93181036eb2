"""The checks, as plain functions over a Playwright page. Each returns a list of problems (strings);
an empty list means the page passes. The site tests and the broken-page self-test call the same
functions, which is what proves that a passing site is evidence and not an accident.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page as PlaywrightPage

from .book import Page, Repository

AXE_PATH = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = ("serious", "critical")
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}


# --------------------------------------------------------------------------- visiting a page


@dataclass
class Visit:
    """What happened while one page loaded: every request, failed loads and console errors."""

    url: str = ""
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


class Tab:
    """One reusable browser tab that records what each visit requests and logs.

    Every request for anything but the server's origin is recorded as leaving the machine. The
    browser itself is launched with a dead proxy (see ``conftest.py``), so such a request fails
    instead of reaching the internet: the tests never depend on it, and a page that needs it is
    caught. (The proxy costs nothing per request; intercepting each one with ``page.route`` made
    every page about half a second slower.)
    """

    def __init__(self, page: PlaywrightPage, origin: str):
        self.page = page
        self.origin = origin.rstrip("/")
        self.visit = Visit()
        page.on("request", self._on_request)
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.visit.console_errors.append(f"uncaught exception: {error}"))

    def _is_local(self, url: str) -> bool:
        return url.startswith((self.origin + "/", "data:", "blob:", "about:"))

    def _on_request(self, request) -> None:
        self.visit.requests.append(request.url)
        if not self._is_local(request.url):
            self.visit.blocked.append(request.url)

    def _on_response(self, response) -> None:
        if response.status >= 400 and self._is_local(response.url):
            self.visit.failed.append(f"HTTP {response.status} for {response.url}")

    def _on_request_failed(self, request) -> None:
        if self._is_local(request.url):
            self.visit.failed.append(f"request failed ({request.failure}) for {request.url}")

    def _on_console(self, message) -> None:
        if message.type == "error":
            location = message.location or {}
            where = f" [{location.get('url', '')}:{location.get('lineNumber', '')}]" if location.get("url") else ""
            self.visit.console_errors.append(f"{message.text}{where}")

    def goto(self, url: str) -> Visit:
        """Open ``url`` and wait until it is ready to be read: loaded, fonts in, MathJax done."""
        self.visit = Visit(url=url)
        self.page.goto(url, wait_until="load")
        wait_until_ready(self.page)
        return self.visit


def wait_until_ready(page: PlaywrightPage, timeout_ms: float = 20_000) -> None:
    """Wait for web fonts and for MathJax (when the page loads it) to finish typesetting."""
    page.wait_for_function(
        """() => !document.querySelector('script[src*="mathjax" i]')
                 || (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)""",
        timeout=timeout_ms,
    )
    page.evaluate(
        """async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
            await document.fonts.ready;
        }"""
    )


# --------------------------------------------------------------------------- math


_MATH_JS = """
() => {
  const problems = [];
  for (const error of document.querySelectorAll('mjx-merror')) {
    const message = error.getAttribute('data-mjx-error') || error.textContent || 'unknown error';
    problems.push(`MathJax could not typeset a formula: ${message}`);
  }
  for (const element of document.querySelectorAll('.math')) {
    if (!element.querySelector('mjx-container')) {
      problems.push(`formula left untypeset: ${element.textContent.trim().slice(0, 100)}`);
    }
  }
  if (document.querySelector('.math') && !document.querySelector('script[src*="mathjax" i]')) {
    problems.push('the page has formulas but does not load MathJax');
  }
  return problems;
}
"""

# Text nodes of the article, grouped by their block, leaving out code and typeset math.
_PROSE_JS = """
() => {
  const root = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const skip = 'pre, code, kbd, samp, script, style, textarea, svg, mjx-container, .highlight, .headerlink';
  const blocks = new Map();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    const block = parent.closest('p, li, dt, dd, h1, h2, h3, h4, h5, h6, td, th, caption, figcaption, '
                                 + 'blockquote, div, section, article, main, body');
    blocks.set(block, (blocks.get(block) || '') + node.textContent);
  }
  return [...blocks.values()].map(text => text.replace(/\\s+/g, ' ').trim()).filter(Boolean);
}
"""

RAW_LATEX = [
    (re.compile(r"\$\$"), "a stray $$"),
    # Pandoc's rule for inline math: $ followed by a non-space, closed by a non-space $ not followed by
    # a digit. It flags "$x^2$" and leaves prices such as "$5 and $6" alone.
    (re.compile(r"\$(?=[^\s$])[^$\n]{0,300}?[^\s\\$]\$(?!\d)"), "raw $...$ math"),
    (re.compile(r"\\[()\[\]]"), r"a raw \( \) \[ \] delimiter"),
    (re.compile(r"\\[A-Za-z]+"), "a raw LaTeX command"),
]


def check_math(page: PlaywrightPage) -> list[str]:
    """Every formula typeset by MathJax, none in error, and no LaTeX left as text in the prose."""
    problems = page.evaluate(_MATH_JS)
    for text in page.evaluate(_PROSE_JS):
        for pattern, what in RAW_LATEX:
            match = pattern.search(text)
            if match:
                start, end = max(0, match.start() - 40), min(len(text), match.end() + 40)
                problems.append(f"{what} in the prose: ...{text[start:end]}...")
                break
    return problems


# --------------------------------------------------------------------------- network and console


def check_requests(visit: Visit) -> list[str]:
    """No request left the machine, and every local resource loaded."""
    problems = [f"request leaves 127.0.0.1: {url}" for url in dict.fromkeys(visit.blocked)]
    return problems + list(dict.fromkeys(visit.failed))


def check_console(visit: Visit) -> list[str]:
    return [f"console error: {message}" for message in dict.fromkeys(visit.console_errors)]


# --------------------------------------------------------------------------- images

_IMAGES_JS = """
async () => {
  const images = [...document.images];
  for (const image of images) if (image.loading === 'lazy') image.loading = 'eager';
  await Promise.all(images.map(image => image.complete ? null : new Promise(resolve => {
    image.addEventListener('load', resolve, {once: true});
    image.addEventListener('error', resolve, {once: true});
    setTimeout(resolve, 10000);
  })));
  const content = document.querySelector('article.bd-article') || document.querySelector('main');
  return images.map(image => ({
    src: image.getAttribute('src') || '', url: image.currentSrc || image.src, alt: image.getAttribute('alt'),
    loaded: image.complete && image.naturalWidth > 0, inContent: !!(content && content.contains(image)),
  }));
}
"""

_FILE_NAME = re.compile(r"^[\w./ -]*\.(png|jpe?g|gif|svg|webp|bmp|avif|pdf)$", re.IGNORECASE)
_GENERIC_ALT = re.compile(r"^(image|img|figure|fig|picture|pic|plot|graph|chart|output|untitled|"
                          r"screenshot|photo|icon|png|svg|jpe?g)[\s_-]*\d*$", re.IGNORECASE)


def alt_text_problem(alt: str | None, src: str, in_content: bool) -> str | None:
    """Why ``alt`` is not meaningful alt text for an image at ``src``, or None when it is."""
    if alt is None:
        return "has no alt attribute"
    text = alt.strip()
    if not text:
        return "has empty alt text"
    name = urllib.parse.unquote(src.split("?")[0].split("#")[0].rsplit("/", 1)[-1])
    if _FILE_NAME.match(text) or text in (name, name.rsplit(".", 1)[0]):
        return f"has a file name for alt text ({text!r})"
    if _GENERIC_ALT.match(text):
        return f"has generic alt text ({text!r})"
    if in_content and len(text.split()) < 3:
        return f"has alt text too short to describe a figure ({text!r}; say what the reader should see)"
    return None


def check_images(page: PlaywrightPage) -> list[str]:
    """Every image loads and has meaningful alt text."""
    problems = []
    for image in page.evaluate(_IMAGES_JS):
        if not image["loaded"]:
            problems.append(f"image does not load: {image['src']}")
        why = alt_text_problem(image["alt"], image["src"], image["inContent"])
        if why:
            problems.append(f"image {image['src']} {why}")
    return problems


# --------------------------------------------------------------------------- launch buttons


def expected_launch_links(page: Page, repo: Repository, launch: dict) -> dict[str, str]:
    """The Binder and Colab URLs that must open ``page``'s notebook on the repository's branch:
    its Colab/Binder-ready copy under colab/ when there is one (tools/make_colab.py)."""
    path = repo.path_of(page)
    copy = f"colab/{path}"
    if page.source is not None and (page.source.parents[len(Path(path).parts) - 1] / copy).is_file():
        path = copy
    interface = {"classic": "tree", "jupyterlab": "lab/tree"}.get(launch.get("notebook_interface", "classic"),
                                                                  "tree")
    binder = str(launch.get("binderhub_url") or "https://mybinder.org").rstrip("/")
    colab = str(launch.get("colab_url") or "https://colab.research.google.com").rstrip("/")
    return {
        "Binder": f"{binder}/v2/gh/{repo.owner}/{repo.name}/{repo.branch}?urlpath={interface}/{path}",
        "Colab": f"{colab}/github/{repo.owner}/{repo.name}/blob/{repo.branch}/{path}",
    }


def _same_url(a: str, b: str) -> bool:
    pa, pb = urllib.parse.urlsplit(a), urllib.parse.urlsplit(b)
    return ((pa.scheme, pa.netloc, urllib.parse.unquote(pa.path).rstrip("/"))
            == (pb.scheme, pb.netloc, urllib.parse.unquote(pb.path).rstrip("/"))
            and urllib.parse.parse_qs(pa.query) == urllib.parse.parse_qs(pb.query))


def check_launch_links(page: PlaywrightPage, expected: dict[str, str]) -> list[str]:
    """The page offers each launch link, pointing exactly at ``expected``, reachable from its menu."""
    problems = []
    links = page.eval_on_selector_all("a[href]", "links => links.map(a => ({href: a.href, text: a.innerText}))")
    for name, url in expected.items():
        host = urllib.parse.urlsplit(url).netloc
        candidates = [link["href"] for link in links if urllib.parse.urlsplit(link["href"]).netloc == host]
        if not candidates:
            problems.append(f"no {name} link on the page (expected {url})")
        elif not any(_same_url(href, url) for href in candidates):
            problems.append(f"{name} link points at {candidates[0]}, expected {url}")
    if problems:
        return problems
    # A reader must be able to reach the links: open the launch menu and see them.
    toggle = page.locator(".dropdown-launch-buttons button").first
    if toggle.count() == 0:
        return ["the launch links are not in a launch menu (no .dropdown-launch-buttons button)"]
    toggle.click()
    for name, url in expected.items():
        host = urllib.parse.urlsplit(url).netloc
        link = page.locator(f".dropdown-launch-buttons a[href*='{host}']").first
        try:
            link.wait_for(state="visible", timeout=3000)
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError, reported as a problem
            problems.append(f"the {name} link does not become visible when the launch menu is opened")
    page.keyboard.press("Escape")
    return problems


# --------------------------------------------------------------------------- accessibility

# Colour rules: axe builds a map of every element of the page before it checks a single colour,
# which on a chapter (14,000 elements: MathJax, highlighted code) takes seconds. check_contrast runs
# them on one sample of each distinct look instead (see _SAMPLES_JS), which decides the same thing.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


def run_axe(page: PlaywrightPage, axe_source: str, options: dict, context: str = "document") -> list[dict]:
    """Run axe-core in the page on ``context`` (a JS expression); return its violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    return page.evaluate(f"options => axe.run({context}, options).then(result => result.violations)", options)


def describe_violations(violations: list[dict], where: str = "") -> list[str]:
    problems = []
    for violation in violations:
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        nodes = violation["nodes"]
        examples = "; ".join(
            f"{' '.join(map(str, node['target']))} -> {node.get('failureSummary', '').splitlines()[-1].strip()}"
            for node in nodes[:3])
        problems.append(f"axe {violation['id']} ({violation['impact']}){where}: {violation['help']} on "
                        f"{len(nodes)} element(s), e.g. {examples} [{violation['helpUrl']}]")
    return problems


def check_accessibility(page: PlaywrightPage, axe_source: str) -> list[str]:
    """No serious or critical WCAG 2.0/2.1 A/AA violations, colours apart (see check_contrast)."""
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"],
               "rules": {rule: {"enabled": False} for rule in COLOUR_RULES}}
    return describe_violations(run_axe(page, axe_source, options))


# Marks a few visible elements per distinct look of text: same colour, background (the nearest
# painted ancestor), font size and weight, opacity, shadow, and for links the decoration and the
# colour of the text around them. Contrast depends on nothing else, so checking the samples checks
# every text of the page. Links are sampled as the <a> itself (link-in-text-block looks at links).
_SAMPLES_JS = """
theme => {
  const cache = new Map();
  const transparent = colour => colour === 'transparent' || /rgba\\([^)]*,\\s*0\\)$/.test(colour);
  function look(element) {
    if (!element || element.nodeType !== 1) return {background: 'canvas', opacity: 1};
    let known = cache.get(element);
    if (known) return known;
    const style = getComputedStyle(element), parent = look(element.parentElement);
    const own = style.backgroundImage !== 'none' ? 'image ' + style.backgroundImage
              : transparent(style.backgroundColor) ? null : style.backgroundColor;
    known = {style, background: own || parent.background, opacity: parent.opacity * parseFloat(style.opacity)};
    cache.set(element, known);
    return known;
  }
  // A link in running text must stand out from the text around it (link-in-text-block); a link
  // alone in its block need not. So its look includes its decoration and the text it sits in.
  function linkLook(link) {
    let block = link.parentElement;
    while (block && block !== document.body && getComputedStyle(block).display.startsWith('inline')) {
      block = block.parentElement;
    }
    const inText = !!block && block.textContent.replace(link.textContent, '').trim().length > 0;
    return [getComputedStyle(link).textDecorationLine, inText ? 'in text ' + look(block).style.color : 'alone'].join(' ');
  }
  const seen = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!element || !node.textContent.trim() || element.closest('script, style, template')) continue;
    if (!element.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const {style, background, opacity} = look(element);
    const link = element.closest('a[href]');
    const key = [style.color, background, style.fontSize, style.fontWeight, opacity, style.textShadow,
                 link ? linkLook(link) : ''].join('|');
    if (!seen.has(key)) seen.set(key, new Set());
    seen.get(key).add(link || element);
  }
  // Three samples of each look, far apart: one of them may be covered by something (a sticky
  // header) that leaves axe unable to decide, and then the others still decide.
  let count = 0;
  for (const group of seen.values()) {
    const elements = [...group];
    for (const index of new Set([0, elements.length >> 1, elements.length - 1])) {
      elements[index].setAttribute('data-contrast-sample-' + theme, '');
      count += 1;
    }
  }
  return count;
}
"""

# Hides (visibility: hidden) everything that is neither a sample, inside one, nor around one, so
# that axe's map of the page holds a few hundred elements. The layout stays exactly as it was (so
# each sample sits where it sat, over what it sat over), and so does every selector's match.
_KEEP_ONLY_SAMPLES_JS = """
() => {
  const keep = new Set();
  for (const sample of document.querySelectorAll('[data-contrast-sample-light], [data-contrast-sample-dark]')) {
    for (let element = sample; element && !keep.has(element); element = element.parentElement) keep.add(element);
    for (const inside of sample.querySelectorAll('*')) keep.add(inside);
  }
  for (const element of document.body.querySelectorAll('*')) {
    if (!keep.has(element)) element.style.setProperty('visibility', 'hidden', 'important');
  }
}
"""


def check_contrast(page: PlaywrightPage, axe_source: str, themes=("light", "dark")) -> dict[str, list[str]]:
    """Text, code and links are legible in each theme: axe's colour rules, per theme.

    It hides most of the page to do so: run it last on a loaded page (the next page loads afresh).
    """
    for theme in themes:
        set_theme(page, theme)
        page.evaluate(_SAMPLES_JS, theme)
    page.evaluate(_KEEP_ONLY_SAMPLES_JS)
    options = {"runOnly": {"type": "rule", "values": COLOUR_RULES}, "resultTypes": ["violations"]}
    found = {}
    for theme in themes:
        set_theme(page, theme)
        context = f"{{include: [['[data-contrast-sample-{theme}]']]}}"
        found[theme] = describe_violations(run_axe(page, axe_source, options, context), f" in {theme} mode")
    return found


# --------------------------------------------------------------------------- dark mode


def set_theme(page: PlaywrightPage, theme: str) -> None:
    """Switch the loaded page to ``theme`` ("light" or "dark") the way pydata-sphinx-theme does it,
    by setting ``data-theme`` (and ``data-mode``) on <html>. Colour transitions are switched off
    first: the checks want the colours the switch ends on, not to wait for them."""
    page.evaluate(
        """async theme => {
            if (!document.getElementById('tests-no-transitions')) {
                const style = document.createElement('style');
                style.id = 'tests-no-transitions';
                style.textContent = '*, *::before, *::after { transition: none !important; }';
                document.head.appendChild(style);
            }
            document.documentElement.dataset.mode = theme;
            document.documentElement.dataset.theme = theme;
            await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
            const transitions = document.getAnimations().filter(animation => animation instanceof CSSTransition);
            await Promise.all(transitions.map(animation => animation.finished.catch(() => null)));
        }""",
        theme,
    )


def set_viewport(page: PlaywrightPage, size: dict) -> None:
    """Resize the tab and wait until the page has laid itself out again."""
    page.set_viewport_size(size)
    page.evaluate("() => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)))")


def enable_dark_mode(context) -> None:
    """Make every page of ``context`` open in dark mode, as a reader who chose it would see it."""
    # What the theme's own switcher stores when a reader picks dark.
    context.add_init_script("try { localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark'); } "
                            "catch (e) {}")


def page_background_lightness(page: PlaywrightPage) -> float:
    """Relative lightness (0 black .. 1 white) of the page's background as the reader sees it."""
    return page.evaluate(
        """() => {
            const transparent = c => c === 'transparent' || /rgba\\([^)]*,\\s*0\\)$/.test(c);
            let colour = getComputedStyle(document.body).backgroundColor;
            if (transparent(colour)) colour = getComputedStyle(document.documentElement).backgroundColor;
            if (transparent(colour)) return 1;  // the canvas default: white
            const [r, g, b] = colour.match(/[\\d.]+/g).map(Number);
            return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
        }"""
    )


_FIGURES_JS = """
() => {
  const content = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const figures = [];
  for (const image of content.querySelectorAll('img')) {
    if (!image.complete || image.naturalWidth < 64 || image.naturalHeight < 64) continue;  // icons, badges
    if (image.closest('.only-dark, .only-light')) continue;  // drawn for one theme on purpose
    const width = Math.min(image.naturalWidth, 400);
    const height = Math.max(1, Math.round(image.naturalHeight * width / image.naturalWidth));
    const canvas = document.createElement('canvas');
    canvas.width = width; canvas.height = height;
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0, width, height);
    let pixels;
    try { pixels = context.getImageData(0, 0, width, height).data; }
    catch (error) { figures.push({src: image.getAttribute('src'), error: String(error)}); continue; }
    // The outer two-pixel ring is the figure's background as it meets the page.
    let count = 0, alpha = 0, light = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (x > 1 && x < width - 2 && y > 1 && y < height - 2) continue;
        const i = 4 * (y * width + x), a = pixels[i + 3] / 255;
        count += 1; alpha += a;
        light += a * (0.2126 * pixels[i] + 0.7152 * pixels[i + 1] + 0.0722 * pixels[i + 2]) / 255;
      }
    }
    figures.push({src: image.getAttribute('src'), alpha: alpha / count, light: light / count});
  }
  return figures;
}
"""


def check_dark_mode(page: PlaywrightPage) -> list[str]:
    """In dark mode the page really is dark, and every figure sits on an opaque light background
    (so its dark axis labels stay readable on the dark page). Text contrast: check_contrast."""
    problems = []
    lightness = page_background_lightness(page)
    if lightness > 0.3:
        problems.append(f"the page stays light in dark mode (background lightness {lightness:.2f})")
    for figure in page.evaluate(_FIGURES_JS):
        if "error" in figure:
            problems.append(f"figure {figure['src']} could not be inspected: {figure['error']}")
        elif figure["alpha"] < 0.95:
            problems.append(f"figure {figure['src']} has a transparent background (mean edge opacity "
                            f"{figure['alpha']:.2f}); draw it on an opaque white background")
        elif figure["light"] < 0.75:
            problems.append(f"figure {figure['src']} has a dark background (mean edge lightness "
                            f"{figure['light']:.2f}); draw it on an opaque white background")
    return problems


# --------------------------------------------------------------------------- phone width

_PHONE_JS = """
() => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  const scrollWidth = document.documentElement.scrollWidth;
  if (scrollWidth > width + 1) {
    problems.push(`the page scrolls sideways: ${scrollWidth}px of content in a ${width}px wide viewport`);
  }
  const root = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  // Code, outputs, tables and display math may scroll inside their own box; prose may not.
  const ownScroller = 'pre, .highlight, .cell_output, .output, table, .pst-scrollable-table-container, '
                      + 'mjx-container, div.math';
  const prose = 'p, li, dt, dd, h1, h2, h3, h4, h5, h6, blockquote, figcaption, caption';
  for (const element of root.querySelectorAll(prose)) {
    if (element.closest(ownScroller)) continue;
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const label = `<${element.tagName.toLowerCase()}> "${element.textContent.trim().replace(/\\s+/g, ' ').slice(0, 60)}"`;
    if (box.right > width + 1 || box.left < -1) {
      problems.push(`${label} sticks out of the ${width}px viewport (spans ${Math.round(box.left)}..${Math.round(box.right)}px)`);
    } else if (element.scrollWidth > element.clientWidth + 1) {
      // Its content (a word, inline code or inline math that cannot wrap) is wider than its box.
      const culprit = [...element.children].find(child => !child.closest(ownScroller)
                                                       && child.getBoundingClientRect().right > box.right + 1);
      const what = culprit ? ` because of <${culprit.tagName.toLowerCase()}> "${culprit.textContent.trim().slice(0, 60)}"` : '';
      problems.push(`${label} is wider than the ${Math.round(box.width)}px column${what}: `
                    + `${element.scrollWidth}px, so it sticks out of the ${width}px viewport or must be scrolled sideways`);
    }
  }
  return problems;
}
"""


def check_phone_width(page: PlaywrightPage) -> list[str]:
    """At phone width the prose fits: nothing to scroll sideways except code, outputs, tables, math."""
    return page.evaluate(_PHONE_JS)


# --------------------------------------------------------------------------- search


def search_results(page: PlaywrightPage, search_url: str) -> list[str]:
    """Run a search through the site's own search page; return the result links (absolute URLs)."""
    page.goto(search_url, wait_until="load")
    page.wait_for_function(
        """() => { const summary = document.querySelector('#search-results .search-summary');
                   return summary && summary.textContent.trim().length > 0; }""",
        timeout=20_000,
    )
    return page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")


def check_search(page: PlaywrightPage, search_url: str, expected_path: str) -> list[str]:
    """The search finds a page at ``expected_path`` (URL path) and its result link lands there."""
    links = search_results(page, search_url)
    hits = [link for link in links if urllib.parse.urlsplit(link).path.endswith("/" + expected_path)]
    if not hits:
        return [f"search {search_url} found no link to {expected_path} (found: {links[:10]})"]
    with page.expect_navigation(wait_until="load"):
        page.locator("#search-results ul.search li a").nth(links.index(hits[0])).click()
    landed = urllib.parse.urlsplit(page.url).path
    if not landed.endswith("/" + expected_path):
        return [f"clicking the search result landed on {page.url}, not {expected_path}"]
    return []
