"""`newsletter preview`'s page in real Chromium, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Frame, Page, expect
from starlette.applications import Starlette

from newsletter.browser import keep_on_this_machine
from newsletter.keys import load_keys
from newsletter.preview.content import render_preview, watched_files
from newsletter.preview.live import LiveBuild
from newsletter.preview.server import create_app
from newsletter.workspace import Workspace

from .preview_support import FIXTURES, column_boxes, horizontal_overflow, serving

# The shared Chromium fixtures (`browser`).
pytest_plugins = ["tests.preview_fixtures"]

# Long enough for a rebuild on a busy CI machine; the page polls twice a second.
UPDATE_MS = 10_000


@pytest.fixture
def issue_dir(workspace: Workspace) -> Path:
    folder = workspace.issues_dir / "2026-12"
    folder.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "issue.md", folder / "issue.md")
    return folder


def preview_app(workspace: Workspace, issue_dir: Path) -> Starlette:
    key = load_keys(workspace).unsubscribe
    live = LiveBuild(
        partial(render_preview, workspace.root, issue_dir, key),
        partial(watched_files, workspace.root, issue_dir),
    )
    return create_app(live, issue_dir.name)


@pytest.fixture
def url(workspace: Workspace, issue_dir: Path) -> Iterator[str]:
    with serving(preview_app(workspace, issue_dir)) as address:
        yield address


@pytest.fixture
def refused() -> list[str]:
    """URLs the page asked for that would have left this machine."""
    return []


@pytest.fixture
def page(browser: Browser, url: str, refused: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    keep_on_this_machine(context, refused)
    page = context.new_page()
    page.goto(url)
    yield page
    context.close()


def email_frame(page: Page, width: int) -> Frame:
    frame = page.locator(f"#email-{width}").element_handle().content_frame()
    assert frame is not None
    frame.wait_for_load_state()
    return frame


def test_the_page_shows_subject_preheader_warnings_and_plain_text(page: Page) -> None:
    expect(page.locator("#subject")).to_have_text("Neues aus Musterstadt im Dezember")
    expect(page.locator("#preheader")).to_have_text(
        "Lichterfest, Busfahrplan und eine Bank am Teich"
    )
    expect(page.locator("#warnings li")).to_contain_text(["cdn.drittanbieter.example"])
    expect(page.locator("#text pre")).to_contain_text("Hallo Erika,")
    expect(page.locator("#text pre")).to_contain_text("Neuer Busfahrplan ab Januar")


def test_the_email_shows_at_phone_and_desktop_width(page: Page) -> None:
    for width in (375, 700):
        frame = email_frame(page, width)
        assert frame.evaluate("window.innerWidth") == width
        expect(frame.locator("body")).to_contain_text("Lichterfest auf dem Marktplatz")
        assert horizontal_overflow(frame) == 0, f"the email is too wide at {width} px"


def test_the_two_column_row_stacks_on_the_phone_and_not_on_the_desktop(page: Page) -> None:
    # A post's row: its picture beside the text on desktop, above it (full width) on phones.
    row = ".nl-thumb, .nl-copy"
    left, right = column_boxes(email_frame(page, 375), row)[:2]
    assert right.top >= left.bottom - 1, "the columns do not stack at 375 px"
    assert left.right - left.left == pytest.approx(right.right - right.left, abs=1)
    left, right = column_boxes(email_frame(page, 700), row)[:2]
    assert left.top == pytest.approx(right.top, abs=1) and right.left >= left.right - 1


def test_the_frames_take_the_full_height_of_the_email(page: Page) -> None:
    frame = email_frame(page, 375)
    height = frame.evaluate("document.documentElement.scrollHeight")
    expect(page.locator("#email-375")).to_have_js_property("offsetHeight", height + 2)


def test_the_page_reloads_by_itself_after_issue_md_is_edited(page: Page, issue_dir: Path) -> None:
    page.evaluate("window.notReloaded = true")
    issue = issue_dir / "issue.md"
    issue.write_text(
        issue.read_text(encoding="utf-8").replace("im Dezember", "im Advent"), encoding="utf-8"
    )
    expect(page.locator("#subject")).to_have_text(
        "Neues aus Musterstadt im Advent", timeout=UPDATE_MS
    )
    assert page.evaluate("window.notReloaded") is None
    expect(email_frame(page, 700).locator("h1")).to_have_text("Neues aus Musterstadt im Advent")


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ("{% if posts %}", r"email\.mjml, line \d+: .*endif"),
        (
            "<mj-section><mj-column><mj-text>offen</mj-column></mj-section>",
            r"email\.mjml.*line \d+",
        ),
    ],
    ids=["jinja", "mjml"],
)
def test_a_broken_template_shows_its_error_and_the_next_good_save_recovers(
    page: Page, workspace: Workspace, broken: str, expected: str
) -> None:
    template = workspace.templates_dir / "email.mjml"
    good = template.read_text(encoding="utf-8")
    template.write_text(
        good.replace("{% block footer %}", "{% block footer %}" + broken), encoding="utf-8"
    )
    expect(page.locator("#error pre")).to_contain_text(re.compile(expected), timeout=UPDATE_MS)
    # The server kept running and still shows the last email that worked.
    expect(page.locator("#subject")).to_have_text("Neues aus Musterstadt im Dezember")
    expect(email_frame(page, 375).locator("body")).to_contain_text("Lichterfest")

    template.write_text(good, encoding="utf-8")
    expect(page.locator("#error")).to_have_count(0, timeout=UPDATE_MS)
    expect(email_frame(page, 375).locator("body")).to_contain_text("Lichterfest")


def test_the_page_loads_nothing_from_elsewhere_and_the_email_only_from_the_office(
    page: Page, refused: list[str], url: str
) -> None:
    email_frame(page, 700)
    page.wait_for_load_state("networkidle")
    # The office's own image was asked for (and refused by this test's guard); the
    # third-party one never was: the email's Content-Security-Policy stopped it.
    assert "https://www.example.org/bilder/lichterfest.jpg" in refused
    assert not [u for u in refused if "drittanbieter" in u]
    assert all("example.org" in u for u in refused), refused


def test_the_page_says_so_when_the_preview_has_stopped(
    browser: Browser, workspace: Workspace, issue_dir: Path
) -> None:
    context = browser.new_context()
    keep_on_this_machine(context, [])
    page = context.new_page()
    with serving(preview_app(workspace, issue_dir)) as address:
        page.goto(address)
        expect(page.locator("#stopped")).to_be_hidden()
    expect(page.locator("#stopped")).to_be_visible(timeout=UPDATE_MS)
    expect(page.locator("#stopped")).to_contain_text("newsletter preview 2026-12")
    context.close()


def _png() -> bytes:
    """A 4×4 red PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"\xff\0\0" * 4 for _ in range(4))
    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_images_from_the_site_on_a_non_default_port_show_as_in_the_email(
    browser: Browser, workspace: Workspace, issue_dir: Path
) -> None:
    import http.server
    import threading

    image = _png()

    class Images(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(image)))
            self.end_headers()
            self.wfile.write(image)

        def log_message(self, format: str, *args: object) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Images)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{site.server_address[1]}"
    try:
        settings = workspace.settings_file.read_text(encoding="utf-8")
        workspace.settings_file.write_text(
            settings.replace('"https://www.example.org"', f'"{origin}"', 1), encoding="utf-8"
        )
        issue_md = issue_dir / "issue.md"
        text = issue_md.read_text(encoding="utf-8")
        issue_md.write_text(
            text.replace("https://www.example.org/bilder/lichterfest.jpg", f"{origin}/bild.png"),
            encoding="utf-8",
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        keep_on_this_machine(context, [])
        page = context.new_page()
        with serving(preview_app(workspace, issue_dir)) as address:
            page.goto(address)
            frame = email_frame(page, 700)
            page.wait_for_load_state("networkidle")
            loaded = frame.eval_on_selector(
                f"img[src='{origin}/bild.png']", "img => img.complete && img.naturalWidth"
            )
        context.close()
        assert loaded == 4
    finally:
        site.shutdown()
        site.server_close()
