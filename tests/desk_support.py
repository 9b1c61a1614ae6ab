"""What the desk tests share: a desk running on 127.0.0.1 and a client that holds its link."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from newsletter.desk.app import create_app
from newsletter.desk.guard import DeskKeys
from newsletter.desk.server import bind_desk, make_server
from tests.server_support import running


@dataclass(frozen=True)
class RunningDesk:
    url: str  # http://127.0.0.1:PORT
    keys: DeskKeys
    root: Path  # the workspace

    def client(self, *, signed_in: bool = True) -> httpx.Client:
        """A client for the desk; signed in: it has visited the printed link."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)
        if signed_in:
            answer = client.get(f"/?token={self.keys.token}")
            assert answer.status_code == 303, answer.text
        return client

    def post(self, client: httpx.Client, path: str, **fields: str) -> httpx.Response:
        """A form post as the desk's own page sends it: CSRF token and same-origin Origin."""
        return client.post(
            path, data={"csrf": self.keys.csrf, **fields}, headers={"Origin": self.url}
        )


@contextmanager
def desk_running(root: Path) -> Iterator[RunningDesk]:
    sock, keys = bind_desk(0)
    with running(make_server(create_app(root, keys)), sock):
        yield RunningDesk(f"http://127.0.0.1:{keys.port}", keys, root)


@contextmanager
def desk_process(root: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`newsletter desk --no-browser` as staff start it, in its own process: the process
    and the link it printed; killed at the end if it is still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "--workspace", str(root), "desk", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Desk: http://127.0.0.1:"), line
        yield process, line.split(" ", 1)[1].strip()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(15)
