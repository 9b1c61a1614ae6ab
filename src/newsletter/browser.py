"""Headless Chromium for screenshots: the system's browser, driven by Playwright.

We never download a browser: the system's Chromium (Debian package ``chromium``) or
the program named by ``NEWSLETTER_CHROMIUM`` is used, and nothing it loads may leave
this machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from newsletter.errors import BrowserError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Route

CHROMIUM_ENV = "NEWSLETTER_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_INSTALL_HINT = (
    'install Chromium (Debian/Ubuntu: "sudo apt-get install chromium") '
    f"or name its program in {CHROMIUM_ENV}"
)

# Without the background-networking flags Chromium calls Google (updates, field trials,
# safe browsing) on start; the resolver rule makes every host name but localhost
# unresolvable, so nothing leaves the machine even where a page route cannot see it.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)


def find_chromium(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(CHROMIUM_ENV):
        named = Path(env[CHROMIUM_ENV])
        if not named.is_file():
            raise BrowserError(f"{CHROMIUM_ENV} names {named}, which does not exist", _INSTALL_HINT)
        return named
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise BrowserError("no Chromium found for the screenshots", _INSTALL_HINT)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A fresh headless Chromium (its own temporary profile), closed on leaving."""
    executable = find_chromium()
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise BrowserError(
            "screenshots need Playwright, which is not installed",
            'install it with: pip install "newsletter[screenshots]" --find-links FOLDER (the folder with the newsletter wheel; it uses the system Chromium)',
        ) from None
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, args=list(CHROMIUM_FLAGS)
            )
        except Error as error:
            first_line = str(error).strip().splitlines()[0]
            raise BrowserError(f"Chromium ({executable}) did not start: {first_line}") from None
        try:
            yield browser
        finally:
            browser.close()


def is_loopback(url: str) -> bool:
    """True for what stays on this machine: loopback hosts and URLs with no host at all."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "file"):
        return True
    return (parts.hostname or "") in LOOPBACK_HOSTS


def keep_on_this_machine(context: BrowserContext, blocked: list[str]) -> None:
    """Abort every request of ``context`` that would leave 127.0.0.1, noting its URL."""

    def handle(route: Route) -> None:
        url = route.request.url
        if is_loopback(url):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", handle)
