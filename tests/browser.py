"""Debian's chromium driven by playwright, for the review page's tests and its screenshot.

Nothing is downloaded: playwright starts the system's /usr/bin/chromium (installed by
.ci/run when missing), headless, with no network services of its own.

    python -m tests.browser PAGE.html OUT.png [WIDTH]

docs/images/review.png is the demo's page: `make demo`, then
    .venv/bin/python -m tests.browser samples/out/promo.review.html docs/images/review.png
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    """The system chromium, or None when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """A headless chromium (playwright Browser); closed on exit."""
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    if exe is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(b: Any, page: Path, width: int, height: int = 900) -> tuple[Any, list[str]]:
    """The page loaded at a viewport `width` px wide, and the list its console errors,
    uncaught exceptions and failed requests go to."""
    tab = b.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    # a player drops its first request once it knows the file (ERR_ABORTED): not a failure
    tab.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}")
           if "ERR_ABORTED" not in str(r.failure) else None)
    tab.goto(page.resolve().as_uri())
    tab.wait_for_load_state("load")
    return tab, errors


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 1400, b: Any = None) -> Path:
    """A PNG of the top of the review page (its outputs and shots), every player showing
    its first frame; in browser `b`, or one started for it."""
    with contextlib.ExitStack() as stack:
        if b is None:
            b = stack.enter_context(browser())
        tab, _ = open_page(b, page, width, height)
        tab.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 3)",
                              timeout=60000)
        tab.wait_for_timeout(1500)  # the players' loading indicators fade out
        out.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(out))
        tab.close()
    return out


if __name__ == "__main__":  # pragma: no cover - a maintenance script
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    print(screenshot(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1280))
