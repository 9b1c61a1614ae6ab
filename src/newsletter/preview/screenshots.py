"""PNGs of a rendered email at phone and desktop width, and in dark mode.

Mail apps run no scripts and the email must not load anything from elsewhere during
a screenshot, so pages run with JavaScript off and every request that would leave
127.0.0.1 is refused (and reported: such an image shows as missing).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.browser import chromium, keep_on_this_machine
from newsletter.files import write_bytes_atomic

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Only the width matters: the screenshots take the full height of the email.
_VIEWPORT_HEIGHT = 800


@dataclass(frozen=True)
class Shot:
    file_name: str
    width: int
    dark: bool = False


SHOTS = (
    Shot("screenshot-375.png", 375),
    Shot("screenshot-700.png", 700),
    Shot("screenshot-dark-375.png", 375, dark=True),
    Shot("screenshot-dark-700.png", 700, dark=True),
)


@dataclass(frozen=True)
class Screenshots:
    files: tuple[Path, ...]
    # URLs the email asked for that were refused because they would leave this machine.
    blocked: tuple[str, ...]


def take_screenshots(
    html: str,
    out_dir: Path,
    browser: Browser | None = None,
    shots: tuple[Shot, ...] = SHOTS,
) -> Screenshots:
    """Write one PNG per shot of the email ``html`` into ``out_dir``.

    Pass ``browser`` to reuse a running Chromium; without it one is started and closed.
    """
    if browser is None:
        with chromium() as own:
            return take_screenshots(html, out_dir, own, shots)
    blocked: list[str] = []
    # One page for all shots: resizing and switching the colour scheme re-lay it out
    # exactly as a fresh load would (no scripts run), in a third of the time.
    with email_page(browser, html, shots[0].width, blocked) as page:
        files = tuple(_shoot(page, out_dir / shot.file_name, shot) for shot in shots)
    return Screenshots(files=files, blocked=tuple(dict.fromkeys(blocked)))


@contextmanager
def email_page(
    browser: Browser, html: str, width: int, blocked: list[str] | None = None
) -> Iterator[Page]:
    """The email loaded as a mail app would show it at ``width`` (the page screenshots take).

    Refused URLs are appended to ``blocked`` when given.
    """
    context = browser.new_context(
        viewport={"width": width, "height": _VIEWPORT_HEIGHT}, java_script_enabled=False
    )
    try:
        keep_on_this_machine(context, [] if blocked is None else blocked)
        page = context.new_page()
        page.set_content(html, wait_until="load")
        yield page
    finally:
        context.close()


def _shoot(page: Page, target: Path, shot: Shot) -> Path:
    page.set_viewport_size({"width": shot.width, "height": _VIEWPORT_HEIGHT})
    page.emulate_media(color_scheme="dark" if shot.dark else "light")
    write_bytes_atomic(target, page.screenshot(full_page=True, type="png"))
    return target
