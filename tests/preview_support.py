"""What the preview tests share: a server in a thread, PNG pixels, an email's layout boxes."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Frame, Page
from starlette.applications import Starlette

from newsletter.preview.server import bind_loopback, make_server, url_of
from tests.server_support import running

FIXTURES = Path(__file__).parent / "fixtures" / "preview"


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float


def column_boxes(page: Page | Frame, selector: str = "[class*='mj-column-per-50']") -> list[Box]:
    """Where the half-width columns of an MJML email sit, in page coordinates."""
    boxes = page.eval_on_selector_all(
        selector,
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [r.left, r.top + scrollY, r.right, r.bottom + scrollY]; })",
    )
    return [Box(*box) for box in boxes]


def horizontal_overflow(page: Page | Frame) -> float:
    """How many pixels the document is wider than the window (0 when it fits)."""
    return float(
        page.evaluate(
            "Math.max(0, document.documentElement.scrollWidth - document.documentElement.clientWidth)"
        )
    )


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    rows: list[bytes]  # 8-bit RGB or RGBA, unfiltered
    channels: int

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        start = x * self.channels
        r, g, b = self.rows[y][start : start + 3]
        return r, g, b


def read_png(path: Path) -> Png:
    """Decode an 8-bit, non-interlaced RGB(A) PNG, as Chromium writes them."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, "unsupported PNG kind"
    channels = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytes] = []
    prior = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prior[i], prior[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prior = line
    return Png(width, height, rows, channels)


def luminance(rgb: tuple[int, int, int]) -> float:
    r, g, b = rgb
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 in a thread; yields its URL."""
    sock = bind_loopback(0)
    with running(make_server(app), sock):
        yield url_of(sock)
