"""Shared by the gather tests: workspaces on disk, a real HTTP server, a fixed clock.

(A module, not conftest.py: the gather tests own only their own files.)
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

import pytest
from typer.testing import CliRunner, Result

from newsletter.cli import app
from newsletter.sources.dates import BERLIN
from newsletter.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures" / "gather"
FEEDS = FIXTURES / "feeds"
POSTS = FIXTURES / "folder" / "posts"
SITE_URL = "https://www.example.org"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN)

_SETTINGS = """\
[newsletter]
name = "Grüne Beispielstadt"
locale = "de"
site_url = "https://www.example.org"
from = "Grüne Beispielstadt <newsletter@example.org>"
postal_address = "Beispielweg 1, 12345 Beispielstadt"
impressum_url = "https://www.example.org/impressum"
privacy_url = "https://www.example.org/datenschutz"
responsible = "Erika Beispiel, Beispielweg 1, 12345 Beispielstadt"
web_url = "https://newsletter.example.org"
"""


def make_workspace(root: Path, *sources: str) -> Workspace:
    """A workspace in ``root`` whose newsletter.toml lists ``sources`` ([[sources]] bodies)."""
    root.mkdir(parents=True, exist_ok=True)
    tables = "".join(f"\n[[sources]]\n{source.strip()}\n" for source in sources)
    (root / "newsletter.toml").write_text(_SETTINGS + tables, encoding="utf-8")
    return Workspace(root.resolve())


def folder_source(path: str = "posts") -> str:
    return f'type = "folder"\npath = "{path}"'


def feed_source(url: str) -> str:
    return f'type = "feed"\nurl = "{url}"'


def fixed_clock(monkeypatch: pytest.MonkeyPatch, now: datetime = NOW) -> None:
    monkeypatch.setattr("newsletter.clock.now", lambda: now)


def run_gather(workspace: Workspace, *args: str) -> Result:
    return CliRunner().invoke(app, ["--workspace", str(workspace.root), "gather", *args])


class _Handler(BaseHTTPRequestHandler):
    server: FeedServer._Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # the tests assert on what matters; the log would only clutter their output

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.requests.append((self.path, dict(self.headers.items())))
        kind, _, name = self.path.strip("/").partition("/")
        if kind == "slow":
            time.sleep(owner.delay)
            kind = "feeds"
        if kind == "moved":
            self._send(301, b"", extra={"Location": f"/feeds/{name}"})
            return
        if kind == "elsewhere":
            self._send(302, b"", extra={"Location": f"file:///{name}"})
            return
        path = owner.folder / name
        if kind == "trickle":
            # The whole answer, headers too, one byte every ``delay`` seconds.
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b" " * 100_000
            for byte in answer:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(owner.delay)
            return
        if kind == "truncated":
            # A gzip body cut after N bytes, with a length that matches the cut.
            size, _, feed = name.partition("/")
            packed = gzip.compress((owner.folder / feed).read_bytes())[: int(size)]
            self._send(200, packed, extra={"Content-Encoding": "gzip"})
            return
        if kind == "gzip" and "gzip" in self.headers.get("Accept-Encoding", ""):
            packed = gzip.compress(path.read_bytes())
            self._send(200, packed, "application/rss+xml", extra={"Content-Encoding": "gzip"})
        elif kind == "bomb":
            packed = gzip.compress(b" " * int(name))
            self._send(200, packed, extra={"Content-Encoding": "gzip"})
        elif kind == "encoded":
            # Declared as NAME (gzip, br, ...), but no real compressed data.
            self._send(200, b"<rss>kaputt</rss>", extra={"Content-Encoding": name})
        elif kind == "big":
            self._send(200, b"<rss>" + b" " * int(name) + b"</rss>", declare_length=False)
        elif kind != "feeds" or not path.is_file():
            self._send(404, b"<html><body>Nicht gefunden</body></html>", "text/html")
        else:
            data = path.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", extra={"ETag": etag})
            else:
                kind_type = "text/html" if path.suffix == ".html" else "application/rss+xml"
                self._send(200, data, kind_type, extra={"ETag": etag})

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/xml",
        extra: dict[str, str] | None = None,
        declare_length: bool = True,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if declare_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


class FeedServer:
    """A real HTTP server on 127.0.0.1 (a free port) serving the fixture feeds.

    ``/feeds/NAME`` serves a file with an ETag (and 304 on a match), ``/slow/NAME``
    the same after ``delay`` seconds, ``/moved/NAME`` redirects there, ``/elsewhere/PATH``
    redirects to file:///PATH, ``/gzip/NAME`` the file gzip-compressed (when asked for),
    ``/bomb/N`` N spaces gzip-compressed, ``/encoded/NAME`` plain bytes claiming to be
    NAME-encoded, ``/big/N`` N bytes without a length, ``/trickle/`` an answer of one
    byte every ``delay`` seconds, ``/truncated/N/NAME`` the first N bytes of the file
    gzip-compressed, else 404.
    """

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        owner: FeedServer

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that gave up (the timeout test) is what the test wanted

    def __init__(self, folder: Path = FEEDS, delay: float = 2.0) -> None:
        self.folder = folder
        self.delay = delay
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server = self._Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/{path.lstrip('/')}"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
