"""The default design in Chromium, at phone width: tap targets, separators, fluid images,
blocked images' alt text."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from newsletter.preview.screenshots import email_page
from newsletter.rendering import build_issue
from tests.render_support import KEY, issue_dir, render_workspace

pytestmark = pytest.mark.chromium
pytest_plugins = ["tests.preview_fixtures"]


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> str:
    workspace = render_workspace(
        tmp_path_factory.mktemp("design"), ("archive = false", "archive = true")
    )
    return build_issue(workspace, issue_dir(workspace), KEY).result.email.html


def test_footer_links_are_44_px_tap_targets_and_no_separator_stands_alone(
    browser: Browser, html: str
) -> None:
    with email_page(browser, html, 320) as page:
        links = page.eval_on_selector_all(
            ".nl-footer a", "els => els.map(e => e.getBoundingClientRect().height)"
        )
        # Each "·" and the link it follows: the separator must share the link's line.
        pairs = page.eval_on_selector_all(
            ".nl-footer .nl-nowrap",
            """spans => spans.filter(s => s.textContent.includes('·')).map(s => {
                const link = s.querySelector('a').getBoundingClientRect();
                const text = [...s.childNodes].find(n => n.nodeType === 3 && n.data.includes('·'));
                const range = document.createRange();
                range.setStart(text, text.data.indexOf('·'));
                range.setEnd(text, text.data.indexOf('·') + 1);
                const dot = range.getBoundingClientRect();
                return [link.top, link.bottom, (dot.top + dot.bottom) / 2];
            })""",
        )
        lines = page.eval_on_selector(".nl-footer p:nth-of-type(2)", "p => p.innerText")
    assert len(links) == 4 and min(links) >= 44, links
    assert len(pairs) == 3
    for top, bottom, dot in pairs:
        assert top <= dot <= bottom
    assert not [line for line in lines.split("\n") if line.strip().startswith("·")]


def test_images_fill_the_width_on_a_phone_and_alt_text_is_in_the_body_font(
    browser: Browser, html: str
) -> None:
    with email_page(browser, html, 375) as page:
        widths = page.eval_on_selector_all(
            "img", "els => els.map(e => Math.round(e.getBoundingClientRect().width))"
        )
        fonts = page.eval_on_selector_all(
            "img", "els => els.map(e => getComputedStyle(e).fontFamily)"
        )
        text = page.eval_on_selector(".nl-text div", "e => getComputedStyle(e).fontFamily")
    # The page shows no remote image (as with images blocked): each is its alt text's box.
    assert widths == [375 - 48] * 4, widths
    assert text.startswith("-apple-system")
    assert fonts == [text] * 4


def test_a_long_issue_fits_a_320_px_screen(browser: Browser, tmp_path: Path) -> None:
    from tests.preview_support import horizontal_overflow
    from tests.test_render_design import many_posts

    workspace = render_workspace(tmp_path)
    many_posts(workspace, 8)
    html = build_issue(workspace, issue_dir(workspace), KEY).result.email.html
    with email_page(browser, html, 320) as page:
        assert horizontal_overflow(page) == 0
        contents = page.eval_on_selector_all("li a", "els => els.length")
    assert contents == 8
