"""One headless Chromium per test module (a pytest plugin: ``pytest_plugins``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from playwright.sync_api import Browser

from newsletter.browser import chromium


class LazyChromium:
    """Starts Chromium on first use, so a module without it skips instead of erroring."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._browser: Browser | None = None

    def get(self) -> Browser:
        if self._browser is None:
            self._browser = self._stack.enter_context(chromium())
        return self._browser

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="module")
def shared_chromium() -> Iterator[LazyChromium]:
    lazy = LazyChromium()
    yield lazy
    lazy.close()


@pytest.fixture
def browser(need_program: Callable[[str], str], shared_chromium: LazyChromium) -> Browser:
    """The module's headless Chromium; skips without it on a laptop, fails in CI."""
    need_program("chromium")
    return shared_chromium.get()
