/* Reader-facing fixes to the theme, each checked by tests/browser/test_interaction.py.
 *
 * 1. Sidebar toggles. pydata-sphinx-theme 0.17 wires its handlers to the *first* element of class
 *    primary-toggle (and secondary-toggle), a button of its own header that sphinx-book-theme
 *    hides; the book theme's visible buttons in the article header share the class and get no
 *    handler, so on a phone neither sidebar opens. Every visible toggle now forwards its click
 *    to the wired one; on a wide screen the "On this page" toggle folds the secondary sidebar
 *    (as the book theme does for the primary one); aria-expanded tells assistive technology the
 *    state, and the phone-width dialogs get a visible Close button.
 * 2. Figures: every figure of the article opens at full size in a dialog on click, tap, Enter
 *    or Space (Escape, the Close button or a click outside closes it; focus returns).
 * 3. Wide content: on a wide screen a display equation wider than its box is set smaller until
 *    it fits (down to 80 %); whatever still overflows (code, outputs, equations on a phone) gets the class
 *    scroll-cue, which custom.css draws as a shadow at the edge that can be scrolled, and a
 *    scrolling formula or output becomes a tab stop, so that a keyboard can scroll it.
 * 4. Formulas are not tab stops otherwise (MathJax puts every one in the tab order).
 * 5. Legible figures: a figure is never shown so small that its smallest text is under 7 CSS px
 *    (on a phone it keeps that width and scrolls sideways inside its own box, with the cue of 3).
 *    A chapter's PNG figure names its smallest font size in a class, site-smallest-text-<N>pt
 *    (the figure cell's mystnb image metadata; tests/browser/figures.py checks it against the
 *    code), and matplotlib draws it at 100 dpi, so N pt are N x 100 / 72 image px; an SVG states
 *    its font sizes itself and is read here. An inline formula wider than its line (which
 *    MathJax cannot break) is set on a line of its own and scrolls like a display equation.
 */
(() => {
  "use strict";

  const onReady = (callback) => {
    if (document.readyState !== "loading") callback();
    else document.addEventListener("DOMContentLoaded", callback);
  };
  // After the page has loaded and MathJax (when the page has formulas) has typeset them.
  const afterMath = (callback) => {
    const run = () => {
      const startup = window.MathJax && window.MathJax.startup;
      (startup && startup.promise ? startup.promise : Promise.resolve()).then(callback);
    };
    if (document.readyState === "complete") run();
    else window.addEventListener("load", run);
  };

  // ------------------------------------------------------------------ 1. sidebar toggles

  const WIDE = "(min-width: 992px)";
  const WIDE_SECONDARY = "(min-width: 1200px)";

  function sidebarToggles() {
    const pairs = [
      ["primary-toggle", "pst-primary-sidebar", "pst-primary-sidebar-modal", "Site navigation"],
      ["secondary-toggle", "pst-secondary-sidebar", "pst-secondary-sidebar-modal", "On this page"],
    ];
    for (const [cls, sidebarId, dialogId, label] of pairs) {
      const toggles = [...document.querySelectorAll(`.${cls}`)];
      const sidebar = document.getElementById(sidebarId);
      const dialog = document.getElementById(dialogId);
      if (!toggles.length || !sidebar || !dialog) continue;
      const wired = toggles[0]; // the one the theme gave its handlers to
      const isPrimary = cls === "primary-toggle";

      const expanded = () => {
        if (dialog.open) return true;
        const wide = window.matchMedia(isPrimary ? WIDE : WIDE_SECONDARY).matches;
        if (!wide) return false;
        return !sidebar.classList.contains(isPrimary ? "pst-sidebar-hidden" : "site-sidebar-hidden");
      };
      const refresh = () => {
        for (const toggle of toggles) toggle.setAttribute("aria-expanded", String(expanded()));
      };

      for (const toggle of toggles) {
        toggle.setAttribute("aria-controls", sidebarId);
        if (!toggle.getAttribute("aria-label")) toggle.setAttribute("aria-label", label);
        if (toggle === wired) continue;
        toggle.addEventListener("click", (event) => {
          event.preventDefault();
          event.stopPropagation();
          if (!isPrimary && window.matchMedia(WIDE_SECONDARY).matches) {
            sidebar.classList.toggle("site-sidebar-hidden");
          } else {
            // The theme's handlers (open the dialog; fold the primary sidebar on a wide
            // screen) run on the wired button; focus comes back here when the dialog closes.
            wired.click();
          }
          refresh();
        });
      }
      if (!isPrimary) wired.addEventListener("click", () => setTimeout(refresh));

      dialog.setAttribute("aria-label", label);
      dialog.addEventListener("close", () => {
        dialog.querySelectorAll(".site-dialog-close").forEach((button) => button.remove());
        sidebar.querySelectorAll(".site-dialog-close").forEach((button) => button.remove());
        refresh();
      });
      // The theme fills the dialog when it opens; add a Close button once it is open.
      new MutationObserver(() => {
        if (dialog.open && !dialog.querySelector(".site-dialog-close")) {
          const close = document.createElement("button");
          close.type = "button";
          close.className = "site-dialog-close btn btn-sm";
          close.textContent = "Close";
          close.setAttribute("aria-label", `Close ${label.toLowerCase()}`);
          close.addEventListener("click", () => dialog.close());
          dialog.prepend(close);
          refresh();
        }
      }).observe(dialog, { attributes: true, attributeFilter: ["open"] });
      // A link followed inside the phone dialog (e.g. "On this page") closes it.
      dialog.addEventListener("click", (event) => {
        const link = event.target.closest("a[href]");
        if (link && link.getAttribute("href").includes("#")) setTimeout(() => dialog.close());
      });
      window.addEventListener("resize", refresh);
      refresh();
    }
  }

  // ------------------------------------------------------------------ 2. figure lightbox

  function lightbox() {
    const article = document.querySelector("article.bd-article");
    if (!article) return;
    // Sphinx wraps a scaled figure in a link to the image file: that link opens the larger
    // view instead. Images inside any other link are left to their link.
    const images = [...article.querySelectorAll("img")].filter((image) => {
      const link = image.closest("a");
      return (!link || link.classList.contains("image-reference")) && !image.closest(".site-lightbox");
    });
    if (!images.length) return;
    const dialog = document.createElement("dialog");
    dialog.className = "site-lightbox";
    dialog.setAttribute("aria-label", "Figure at full size");
    const close = document.createElement("button");
    close.type = "button";
    close.className = "site-dialog-close btn btn-sm";
    close.textContent = "Close";
    close.setAttribute("aria-label", "Close the full-size figure");
    const frame = document.createElement("div");
    frame.className = "site-lightbox__frame";
    dialog.append(close, frame);
    document.body.append(dialog);
    let opener = null;
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    dialog.addEventListener("close", () => {
      frame.replaceChildren(); // no empty image left in the page while the dialog is closed
      if (opener) opener.focus();
    });
    const open = (image, trigger) => {
      opener = trigger;
      const big = document.createElement("img");
      big.src = image.currentSrc || image.src;
      big.alt = image.alt || "";
      frame.replaceChildren(big);
      dialog.showModal();
      close.focus();
    };
    for (const image of images) {
      image.classList.add("site-zoomable");
      const alt = (image.getAttribute("alt") || "figure").trim();
      const link = image.closest("a.image-reference");
      if (link) {
        // The link is already a tab stop and Enter already clicks it.
        link.setAttribute("aria-haspopup", "dialog");
        link.addEventListener("click", (event) => {
          event.preventDefault();
          open(image, link);
        });
        continue;
      }
      image.tabIndex = 0;
      image.setAttribute("role", "button");
      image.setAttribute("aria-haspopup", "dialog");
      image.setAttribute("aria-label", `Open at full size: ${alt}`);
      image.addEventListener("click", () => open(image, image));
      image.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          open(image, image);
        }
      });
    }
  }

  // ------------------------------------------------------------------ 3. wide content

  const SCROLLERS =
    "pre, div.math, mjx-container[display='true'], .cell_output .output, .site-figure-scroll, " +
    "mjx-container.site-wide-inline";

  // An inline formula that does not fit its line gets a line of its own, where it scrolls.
  function wideInlineMath() {
    for (const math of document.querySelectorAll("article.bd-article mjx-container:not([display='true'])")) {
      const block = math.parentElement && math.parentElement.closest("p, li, dd, td, th, div");
      if (!block) continue;
      const formula = math.firstElementChild || math;
      const wide = formula.getBoundingClientRect().width > block.clientWidth + 1;
      math.classList.toggle("site-wide-inline", wide);
    }
  }

  function fitEquations() {
    // On a wide screen a slightly smaller equation reads better than a scrolled one; on a
    // phone shrinking would make it unreadable, so there it keeps its size and scrolls.
    const wide = window.matchMedia("(min-width: 768px)").matches;
    for (const math of document.querySelectorAll("mjx-container[display='true']")) {
      math.style.fontSize = "";
      if (!wide) continue;
      const box = math.clientWidth;
      const content = math.scrollWidth;
      if (box > 0 && content > box + 1) {
        const ratio = Math.max(0.8, (box - 2) / content);
        math.style.fontSize = `${Math.floor(ratio * 100)}%`;
      }
    }
  }

  function markScrollable() {
    for (const element of document.querySelectorAll(SCROLLERS)) {
      const overflowing = element.scrollWidth > element.clientWidth + 1;
      element.classList.toggle("scroll-cue", overflowing);
      if (element.tagName === "PRE") continue; // the theme makes scrollable <pre> focusable
      if (overflowing && !element.hasAttribute("tabindex")) {
        // Keyboard users scroll what they can focus (WCAG 2.1.1): a scrolling box is a tab stop.
        element.tabIndex = 0;
        element.dataset.siteScrollStop = "";
      } else if (!overflowing && "siteScrollStop" in element.dataset) {
        element.removeAttribute("tabindex");
        delete element.dataset.siteScrollStop;
      }
    }
  }

  function wideContent() {
    const run = () => {
      fitEquations();
      wideInlineMath();
      markScrollable();
    };
    run();
    let pending = null;
    window.addEventListener("resize", () => {
      clearTimeout(pending);
      pending = setTimeout(run, 100);
    });
    afterMath(run);
    window.siteRelayout = run; // for the browser tests, after they resize the page
  }

  // Formulas are not controls: MathJax puts each one in the tab order for its menu. Take them
  // out (the menu stays on right-click), so Tab goes from control to control.
  function mathOutOfTabOrder() {
    const untab = () =>
      document.querySelectorAll("mjx-container[tabindex]").forEach((math) => {
        if (!("siteScrollStop" in math.dataset)) math.removeAttribute("tabindex");
      });
    untab();
    afterMath(untab);
  }

  // ------------------------------------------------------------------ 5. legible figures

  const LEGIBLE_PX = 7;
  const MATPLOTLIB_DPI = 100;

  // Image px per CSS px at which the smallest text of this image is LEGIBLE_PX, or null.
  async function textScale(image) {
    const named = /(?:^|\s)site-smallest-text-(\d+)pt(?:\s|$)/.exec(image.className);
    if (named) return (Number(named[1]) * MATPLOTLIB_DPI) / 72 / LEGIBLE_PX;
    if (!/\.svg($|[?#])/i.test(image.currentSrc || image.src)) return null;
    try {
      const svg = await (await fetch(image.currentSrc || image.src)).text();
      const root = new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
      const viewBox = (root.getAttribute("viewBox") || "").trim().split(/[\s,]+/);
      // The smallest size any text is drawn at; a percentage (a subscript) of its parent's.
      let smallest = Infinity;
      const walk = (element, inherited) => {
        const stated = element.getAttribute("font-size") || "";
        let size = inherited;
        if (stated.endsWith("%")) size = (inherited * parseFloat(stated)) / 100;
        else if (stated) size = parseFloat(stated);
        const ownText = [...element.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim());
        if (ownText) smallest = Math.min(smallest, size);
        for (const child of element.children) walk(child, size);
      };
      walk(root, 16);
      if (!Number.isFinite(smallest) || viewBox.length !== 4) return null;
      return (smallest * image.naturalWidth) / Number(viewBox[2]) / LEGIBLE_PX;
    } catch (error) {
      return null; // a page opened from disk cannot fetch: the figure keeps the column width
    }
  }

  function legibleFigures() {
    const article = document.querySelector("article.bd-article");
    if (!article) return;
    const settle = [...article.querySelectorAll("img")].map(async (image) => {
      if (!image.complete) await new Promise((done) => image.addEventListener("load", done, { once: true }));
      const scale = await textScale(image);
      if (!scale || !image.naturalWidth) return;
      image.style.minWidth = `${Math.ceil(image.naturalWidth / scale)}px`;
      const holder = image.closest("a.image-reference") || image;
      if (holder.parentElement.classList.contains("site-figure-scroll")) return;
      const box = document.createElement("span");
      box.className = "site-figure-scroll";
      holder.replaceWith(box);
      box.append(holder);
    });
    Promise.all(settle).then(() => window.siteRelayout && window.siteRelayout());
  }

  onReady(() => {
    legibleFigures();
    sidebarToggles();
    lightbox();
    mathOutOfTabOrder(); // first: a formula that must scroll becomes a tab stop again below
    wideContent();
  });
})();
