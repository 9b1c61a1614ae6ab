"""Screenshots in real headless Chromium: phone and desktop width, dark mode, no network."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from statistics import median

import mjml
import pytest
from playwright.sync_api import Browser

from newsletter.browser import find_chromium, is_loopback
from newsletter.errors import BrowserError
from newsletter.preview.screenshots import SHOTS, Screenshots, email_page, take_screenshots
from newsletter.workspace import Workspace

from .conftest import CliRun
from .preview_support import FIXTURES, column_boxes, horizontal_overflow, luminance, read_png

# The shared Chromium fixtures (`browser`).
pytest_plugins = ["tests.preview_fixtures"]


def typical_brightness(png_file: Path) -> float:
    """The median brightness (0-255) of a grid of pixels: the background's, mostly."""
    png = read_png(png_file)
    grid = [(x, y) for x in range(0, png.width, 10) for y in range(0, png.height, 10)]
    return median(luminance(png.pixel(x, y)) for x, y in grid)


@pytest.fixture(scope="module")
def two_columns() -> str:
    """A compiled MJML email with a two-column row, a dark-mode style and remote images."""
    html: str = mjml.mjml2html((FIXTURES / "two-columns.mjml").read_text(encoding="utf-8"))
    return html


@pytest.fixture(scope="module")
def screenshot_once(
    two_columns: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Browser], Screenshots]:
    # Taking them costs about a second and a half; the tests below only read them.
    @cache
    def take(browser: Browser) -> Screenshots:
        return take_screenshots(two_columns, tmp_path_factory.mktemp("build"), browser)

    return take


@pytest.fixture
def shots(browser: Browser, screenshot_once: Callable[[Browser], Screenshots]) -> Screenshots:
    return screenshot_once(browser)


def test_at_375_px_the_email_fits_and_its_columns_stack(browser: Browser, two_columns: str) -> None:
    with email_page(browser, two_columns, 375) as page:
        assert horizontal_overflow(page) == 0
        left, right = column_boxes(page)
    assert right.top >= left.bottom - 1, f"the right column is beside the left one: {left}, {right}"
    assert left.right - left.left > 300 and right.right - right.left > 300


def test_at_700_px_the_columns_sit_side_by_side(browser: Browser, two_columns: str) -> None:
    with email_page(browser, two_columns, 700) as page:
        assert horizontal_overflow(page) == 0
        left, right = column_boxes(page)
    assert left.top == pytest.approx(right.top, abs=1)
    assert right.left >= left.right - 1


def test_screenshots_are_written_at_both_widths_and_in_dark_mode(shots: Screenshots) -> None:
    assert [p.name for p in shots.files] == [
        "screenshot-375.png",
        "screenshot-700.png",
        "screenshot-dark-375.png",
        "screenshot-dark-700.png",
    ]
    widths = [read_png(path).width for path in shots.files]
    assert widths == [shot.width for shot in SHOTS]


def test_the_dark_screenshot_has_a_dark_background(shots: Screenshots) -> None:
    light, wide, dark, dark_wide = shots.files
    assert typical_brightness(dark) < 50 and typical_brightness(dark_wide) < 50
    assert typical_brightness(light) > 200 and typical_brightness(wide) > 200


def test_requests_leaving_the_machine_are_refused_and_reported(shots: Screenshots) -> None:
    assert "https://www.example.org/bilder/radweg.jpg" in shots.blocked
    assert "http://192.0.2.1/bilder/baum.jpg" in shots.blocked
    assert all(not is_loopback(url) for url in shots.blocked)


def test_loopback_addresses_stay_allowed() -> None:
    assert is_loopback("http://127.0.0.1:8123/email")
    assert is_loopback("http://localhost/x.png")
    assert is_loopback("http://[::1]:80/")
    assert is_loopback("file:///tmp/email.html")
    assert not is_loopback("https://fonts.googleapis.com/css?family=Ubuntu")
    assert not is_loopback("http://127.0.0.1.example.com/")


def test_a_missing_chromium_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(BrowserError, match="apt-get install chromium"):
        find_chromium({"NEWSLETTER_CHROMIUM": str(tmp_path / "nowhere")})


@pytest.fixture
def issue_2026_12(workspace: Workspace) -> str:
    folder = workspace.issues_dir / "2026-12"
    folder.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "issue.md", folder / "issue.md")
    return folder.name


def test_render_screenshots_writes_the_pngs_and_the_default_template_has_a_dark_mode(
    workspace: Workspace, issue_2026_12: str, need_program: Callable[[str], str]
) -> None:
    need_program("chromium")
    # A process of its own, as users run it: Playwright's sync API allows one per thread.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsletter",
            "-w",
            str(workspace.root),
            "render",
            issue_2026_12,
            "--screenshots",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    build = workspace.issues_dir / issue_2026_12 / "build"
    for name in (
        "screenshot-375.png",
        "screenshot-700.png",
        "screenshot-dark-375.png",
        "screenshot-dark-700.png",
    ):
        assert f"{build / name}" in result.stdout
    assert "missing resource" in result.stderr
    assert typical_brightness(build / "screenshot-dark-375.png") < 60


def test_render_screenshots_without_chromium_is_one_line_naming_the_package(
    cli: CliRun, issue_2026_12: str, tmp_path: Path
) -> None:
    result = cli(
        "render", issue_2026_12, "--screenshots", env={"NEWSLETTER_CHROMIUM": str(tmp_path / "no")}
    )
    assert result.exit_code == 1
    assert "Error: NEWSLETTER_CHROMIUM names" in result.output
    assert '"sudo apt-get install chromium"' in result.output
    assert "Traceback" not in result.output


def test_render_screenshots_without_playwright_says_how_to_install_it(
    cli: CliRun, issue_2026_12: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import fails like uninstalled
    monkeypatch.setenv("NEWSLETTER_CHROMIUM", sys.executable)  # any existing program
    result = cli("render", issue_2026_12, "--screenshots")
    assert result.exit_code == 1
    assert 'pip install "newsletter[screenshots]"' in result.output
