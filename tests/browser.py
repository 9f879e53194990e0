"""Open a report in headless Chromium (Debian's `chromium`, driven by Playwright)
and record what a reader's browser would: console messages, script errors,
requests that left the file, and a screenshot.

Also a script, for the README's screenshot:
    python tests/browser.py reports/report.html docs/report.png --width 1400 --scale 0.5
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

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in ("error", "warning")]


_LAYOUT = """() => {
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const svgs = [...document.querySelectorAll('svg')];
  return {
    svgs: svgs.length,
    visible_svgs: svgs.filter(visible).length,
    heat_cells: document.querySelectorAll('table.heat td').length,
    sections: document.querySelectorAll('section[id]').length,
    broken_links: [...document.querySelectorAll('a[href^="#"]')]
      .map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(id)),
    page_height: document.documentElement.scrollHeight,
  };
}"""


def visit(report: Path, width: int = 1400, height: int = 1000, full_page: bool = False) -> PageVisit:
    """Load the report with the network cut off and take a screenshot."""
    from playwright.sync_api import sync_playwright

    result = PageVisit()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
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
            result.screenshot = page.screenshot(full_page=full_page)
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
    args = parser.parse_args()
    from PIL import Image

    seen = visit(args.report, args.width, args.height)
    image = Image.open(io.BytesIO(seen.screenshot))
    if args.scale != 1.0:
        image = image.resize((round(image.width * args.scale), round(image.height * args.scale)), Image.LANCZOS)
    image.save(args.png, optimize=True)
    print(f"wrote {args.png} ({image.width}×{image.height}); console: {seen.console}; errors: {seen.page_errors}")


if __name__ == "__main__":
    main()
