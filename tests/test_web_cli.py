"""`newsletter serve` as staff run it: a real process on a port, and its one-line errors."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from newsletter.web.server import direct_reach_warning
from newsletter.workspace import Workspace
from tests.conftest import CliRun
from tests.web_support import local_client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl-C cannot be sent to a process there")
def test_serve_answers_on_its_port_until_ctrl_c(workspace: Workspace) -> None:
    port = free_port()
    command = [sys.executable, "-m", "newsletter", "--workspace", str(workspace.root)]
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with local_client(f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    response = client.get("/abmelden")
                    break
                except httpx.TransportError:
                    assert process.poll() is None, process.communicate()[1]
                    assert time.monotonic() < deadline, "serve did not start"
                    time.sleep(0.1)
        assert response.status_code == 400  # no token: the clear page, not a crash
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert f"Serving https://newsletter.example.org on http://127.0.0.1:{port}/" in out
    assert "(one machine; archive off)" in out
    assert "directly" not in err  # on 127.0.0.1 only the web server in front reaches it
    assert "Stopped." in out, err


def test_serve_on_a_busy_port_is_one_line(cli: CliRun) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = cli("serve", "--port", str(busy.getsockname()[1]))
    assert result.exit_code == 1
    assert "cannot listen on 127.0.0.1" in result.stderr
    assert "Traceback" not in result.output


def test_a_broken_page_template_stops_serve_with_file_and_line(
    workspace: Workspace, cli: CliRun
) -> None:
    template = workspace.templates_dir / "web" / "unsubscribed.html"
    template.write_text(
        template.read_text(encoding="utf-8").replace(
            "{{ texts.unsubscribed_mistake }}", "{{ texts.no_such_text }}"
        ),
        encoding="utf-8",
    )
    result = cli("serve", "--port", str(free_port()))
    assert result.exit_code == 1
    assert f"{template}, line" in result.stderr
    assert "no_such_text" in result.stderr


@pytest.mark.parametrize(
    ("host", "direct"),
    [
        ("127.0.0.1", False),
        ("::1", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("::", True),
        ("203.0.113.5", True),
        ("newsletter.example.org", True),
    ],
)
def test_serve_says_so_when_clients_can_reach_it_directly(host: str, direct: bool) -> None:
    warning = direct_reach_warning(host)
    assert (warning is not None) == direct
    if warning is not None:
        assert "\n" not in warning
        assert "10 s" in warning and "60 s" in warning  # what serve itself enforces
        assert "web-setup.md" in warning and "newsletter docs" in warning
