"""Open a report in headless Chromium (Debian's `chromium`, driven by Playwright)
and record what a reader's browser would: console messages, script errors,
requests that left the file, and a screenshot.

Also a script, for the README's screenshots (docs/report.png, the first screen at 1280 px;
docs/report-narrow.png, at 420 px; docs/report-tape.png, a section with its tape open):
    python tests/browser.py reports/report.html docs/report.png --width 1280 --height 900 --scale 0.75
    python tests/browser.py reports/report.html docs/report-narrow.png --width 420 --height 860
    python tests/browser.py reports/report.html docs/report-tape.png --width 1280 --height 900 \
        --scale 0.75 --section p-saturated-sigmoid
"""

from __future__ import annotations

import argparse
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageVisit:
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    page_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)  # anything not file:// (blocked)
    failed_requests: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    layout: dict = field(default_factory=dict)  # facts read from the rendered page
    opened: dict = field(default_factory=dict)  # the same facts with every <details> open

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in ("error", "warning")]


_LAYOUT = """() => {
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const svgs = [...document.querySelectorAll('svg')];
  const cell = td => ({background: getComputedStyle(td).backgroundColor, text: td.textContent.trim(),
                       row: td.closest('tr').rowIndex});
  const heatHeads = [...document.querySelectorAll('table.heat thead th[title]')].map(th => th.title);
  // A heat row's cells by column: a run of columns without a cell is one <td colspan=n>.
  const heatRows = [...document.querySelectorAll('table.heat tbody tr')].map(tr => {
    let k = 0;
    return [...tr.querySelectorAll('td:not(.why)')].map(td => {
      const at = k; k += td.colSpan;
      return {...cell(td), problem: tr.querySelector('th').textContent, column: heatHeads[at], span: td.colSpan};
    });
  });
  const heat = heatRows.flat();
  const header = document.querySelector('header.bar').getBoundingClientRect();
  const box = document.querySelector('.heatbox');
  const bad = [...document.querySelectorAll('table.heat tbody tr')].filter(tr => tr.querySelector('td:not(.why)')
    && [...tr.querySelectorAll('td')].some(td => /✗|error/.test(td.textContent)));
  return {
    svgs: svgs.length,
    visible_svgs: svgs.filter(visible).length,
    heat_cells: heat.reduce((n, c) => n + c.span, 0),  // column positions, spans counted
    heat_columns: heatHeads.length,
    heat,
    grad: [...document.querySelectorAll('table.grad td.v')].map(cell),
    chips: Object.fromEntries([...document.querySelectorAll('.chip')].map(c =>
      [c.textContent.split(' ').slice(1).join(' '), getComputedStyle(c).backgroundColor])),
    sections: document.querySelectorAll('section[id]').length,
    open_sections: [...document.querySelectorAll('section[id] > details')].filter(d => d.open).map(d => d.parentElement.id),
    shown_sections: [...document.querySelectorAll('section[id]')].filter(visible).length,
    broken_links: [...document.querySelectorAll('a[href^="#"]')]
      .map(a => a.getAttribute('href').slice(1)).filter(id => id !== 'top' && !document.getElementById(id)),
    missing_glyphs: [...document.querySelectorAll('use')]
      .map(u => u.getAttribute('href').slice(1)).filter(id => !document.getElementById(id)),
    page_height: document.documentElement.scrollHeight,
    scroll_width: document.documentElement.scrollWidth,
    client_width: document.documentElement.clientWidth,
    dom_nodes: document.getElementsByTagName('*').length,
    text: document.body.innerText,
    header_top: header.top, header_bottom: header.bottom,
    heatbox_bottom: box ? box.getBoundingClientRect().bottom : null,
    bad_rows_bottom: Math.max(0, ...bad.map(tr => tr.getBoundingClientRect().bottom)),
    bad_rows: bad.length,
    filter: !!document.querySelector('.filter select'),
  };
}"""
_OPEN_ALL = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"
_SCROLL = "(y) => { window.scrollTo(0, y); return document.querySelector('header.bar').getBoundingClientRect().top; }"


def visit(
    report: Path,
    width: int = 1400,
    height: int = 1000,
    full_page: bool = False,
    javascript: bool = True,
    section: str | None = None,
    actions=None,
) -> PageVisit:
    """Load the report with the network cut off, read its layout (`layout`), take a screenshot,
    then open every <details> and read it again (`opened`, and `header_after_scroll`: where the
    sticky bar is after scrolling far down). section: an id to scroll to, its tape opened,
    before the screenshot. actions(page): anything more to do with the page (it returns what
    lands in layout['actions'])."""
    from playwright.sync_api import sync_playwright

    result = PageVisit()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=javascript)
            page = context.new_page()
            page.on("console", lambda m: result.console.append((m.type, m.text)))
            page.on("pageerror", lambda e: result.page_errors.append(str(e)))
            page.on("requestfailed", lambda r: result.failed_requests.append(r.url))

            def route(r):
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:  # a self-contained page asks for nothing else
                    result.outside_requests.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(Path(report).resolve().as_uri(), wait_until="load")
            result.layout = page.evaluate(_LAYOUT)
            if actions is not None:
                result.layout["actions"] = actions(page)
            if section:
                page.evaluate(
                    "(id) => { const s = document.getElementById(id); s.querySelector('details').open = true;"
                    " const t = s.querySelector('details.tape'); if (t) t.open = true;"
                    " (t || s).scrollIntoView(); window.scrollBy(0, -60); }",
                    section,
                )
            result.screenshot = page.screenshot(full_page=full_page)
            page.evaluate(_OPEN_ALL)
            result.opened = page.evaluate(_LAYOUT)
            result.opened["header_after_scroll"] = page.evaluate(_SCROLL, result.opened["page_height"] // 2)
        finally:
            browser.close()
    return result


def blank_share(png: bytes) -> float:
    """The share of the screenshot's pixels that are the page background colour."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    background = pixels[0]
    return float(np.all(pixels == background, axis=1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=1.0, help="downsize the PNG by this factor")
    parser.add_argument("--section", help="a problem's id: scroll to it, its tape open")
    args = parser.parse_args()
    from PIL import Image

    seen = visit(args.report, args.width, args.height, section=args.section)
    image = Image.open(io.BytesIO(seen.screenshot))
    if args.scale != 1.0:
        image = image.resize((round(image.width * args.scale), round(image.height * args.scale)), Image.LANCZOS)
    image.convert("RGB").quantize(256).save(args.png, optimize=True)  # a palette PNG: a third of the bytes
    print(f"wrote {args.png} ({image.width}×{image.height}); console: {seen.console}; errors: {seen.page_errors}")


if __name__ == "__main__":
    main()
