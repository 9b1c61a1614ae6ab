"""Versand and Status over real HTTP against a real SMTP server: the summary, Jetzt senden
in the desk's process, progress from the journal, Anhalten, and the CLI finishing it."""

from __future__ import annotations

import base64
import multiprocessing
import re
import time
from pathlib import Path

import dkim
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from newsletter import store
from newsletter.cli import app
from newsletter.demo import SAMPLE_MEMBERS, demo_workspace
from newsletter.keys import load_keys
from newsletter.mailsink import MailSink
from newsletter.members.applier import apply_import
from newsletter.members.manage import plan_file_import
from newsletter.members.readers import open_member_file
from newsletter.rendering import build_issue
from newsletter.workspace import Workspace
from tests.desk_support import RunningDesk, desk_process, desk_running
from tests.test_send_dkim import with_dkim
from tests.web_support import NOW

SLUG = "2026-11"


def sending_workspace(folder: Path, sink: MailSink, rate: str) -> Workspace:
    """The demo workspace with its members imported, rendered, sending at ``rate``."""
    workspace = demo_workspace(folder, sink.port)
    settings = workspace.settings_file.read_text(encoding="utf-8")
    workspace.settings_file.write_text(
        re.sub(r'(?m)^rate = ".*"$', f'rate = "{rate}"', settings), encoding="utf-8"
    )
    workspace = Workspace(workspace.root)
    with store.open_database(workspace.database_path) as db:
        member_file = open_member_file(workspace.root / SAMPLE_MEMBERS)
        apply_import(
            db, plan_file_import(db, member_file, "mitglieder", None), source="test", now=NOW
        )
    build_issue(workspace, workspace.issues_dir / SLUG, load_keys(workspace).unsubscribe)
    return workspace


def members_on_list(workspace: Workspace) -> int:
    with store.open_database(workspace.database_path) as db:
        return len(list(store.iter_recipients(db, store.require_list(db, "mitglieder").id)))


def wait_for(
    desk: RunningDesk, client: httpx.Client, states: set[str], seconds: float = 60
) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        stand = client.get(f"/ausgaben/{SLUG}/versand/stand").json()
        if stand["state"] in states:
            return dict(stand)
        assert time.monotonic() < deadline, stand
        time.sleep(0.1)


def test_jetzt_senden_sends_everyone_once_and_the_status_says_so(
    tmp_path: Path, mail_sink: MailSink
) -> None:
    workspace = sending_workspace(tmp_path / "ws", mail_sink, "1000/s")
    count = members_on_list(workspace)
    with desk_running(workspace.root) as desk:
        client = desk.client()
        page = client.get(f"/ausgaben/{SLUG}/versand").text
        assert "Jetzt senden" in page
        assert f"<dd>{count}</dd>" in page
        assert f"127.0.0.1:{mail_sink.port}" in page
        assert len(mail_sink.received) == 0  # the summary sends nothing

        started = desk.post(client, f"/ausgaben/{SLUG}/versand")
        assert started.status_code == 303
        stand = wait_for(desk, client, {"done", "failed"})
        assert stand["state"] == "done", stand
        assert stand["sent"] == count
        assert len(mail_sink.received) == count

        status = client.get(f"/ausgaben/{SLUG}/status").text
        assert f'<td class="number" id="count-sent">{count}</td>' in status
        overview = client.get("/").text
        assert "gesendet" in overview
        # Sent and frozen: a second Jetzt senden finds nobody.
        again = client.get(f"/ausgaben/{SLUG}/versand").text
        assert "Jetzt senden" not in again


def test_anhalten_stops_safely_and_the_cli_finishes_the_send(
    tmp_path: Path, mail_sink: MailSink
) -> None:
    workspace = sending_workspace(tmp_path / "ws", mail_sink, "2/s")
    count = members_on_list(workspace)
    with desk_running(workspace.root) as desk:
        client = desk.client()
        desk.post(client, f"/ausgaben/{SLUG}/versand")
        deadline = time.monotonic() + 30
        while client.get(f"/ausgaben/{SLUG}/versand/stand").json()["sent"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stopped = desk.post(client, f"/ausgaben/{SLUG}/anhalten")
        assert stopped.status_code == 303
        stand = wait_for(desk, client, {"stopped", "done", "failed"})
        assert stand["state"] == "stopped", stand
        sent_by_desk = len(mail_sink.received)
        assert 1 <= sent_by_desk < count
        assert "unterbrochen" in client.get("/").text
        assert "Fortsetzen" in client.get(f"/ausgaben/{SLUG}/versand").text

    result = CliRunner().invoke(app, ["--workspace", str(workspace.root), "send", SLUG, "--yes"])
    assert result.exit_code == 0, result.output
    addresses = [message.recipients for message in mail_sink.received]
    assert len(mail_sink.received) == count
    assert len(set(addresses)) == count  # nobody twice, nobody left out


def test_the_failures_download_is_a_workbook(tmp_path: Path, mail_sink: MailSink) -> None:
    workspace = sending_workspace(tmp_path / "ws", mail_sink, "1000/s")
    with desk_running(workspace.root) as desk:
        answer = desk.client().get(f"/ausgaben/{SLUG}/fehler.xlsx")
        assert answer.status_code == 200
        assert answer.content[:2] == b"PK"


def test_closing_the_desk_mid_send_stops_it_safely_and_the_cli_goes_on(
    tmp_path: Path, mail_sink: MailSink
) -> None:
    import signal

    from newsletter.deliver import journal

    workspace = sending_workspace(tmp_path / "ws", mail_sink, "2/s")
    count = members_on_list(workspace)
    with desk_process(workspace.root) as (process, link):
        base = link.split("/?")[0]
        token = link.split("token=")[1]
        port = base.rsplit(":", 1)[1]
        with httpx.Client(base_url=base, cookies={f"newsletter-desk-{port}": token}) as client:
            page = client.get(f"/ausgaben/{SLUG}/versand").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf is not None
            answer = client.post(
                f"/ausgaben/{SLUG}/versand", data={"csrf": csrf.group(1)}, headers={"Origin": base}
            )
            assert answer.status_code == 303
            deadline = time.monotonic() + 30
            while len(mail_sink.received) < 1:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        assert process.stderr is not None
        assert f"Stopped the send of {SLUG} safely" in process.stderr.read()
    with store.open_database(workspace.database_path) as db:
        status = journal.status(db, SLUG)
    assert status.sending == 0 and status.uncertain == ()  # nothing left in doubt
    assert 1 <= status.sent < count

    result = CliRunner().invoke(app, ["--workspace", str(workspace.root), "send", SLUG, "--yes"])
    assert result.exit_code == 0, result.output
    assert len(mail_sink.received) == count
    assert len({m.recipients for m in mail_sink.received}) == count


def test_the_summary_counts_a_first_send_as_the_send_snapshots_it(
    tmp_path: Path, mail_sink: MailSink
) -> None:
    """Versand counts a never-sent issue's recipients without copying them into the journal
    (100,000 members: the copy alone took most of the page's 300 ms); the count must be
    exactly what the send's snapshot then takes, the unsubscribed and suppressed left out."""
    from newsletter.deliver import journal
    from newsletter.members.manage import unsubscribe_address
    from newsletter.render.build import build_hash
    from newsletter.store.records import SuppressionReason

    workspace = sending_workspace(tmp_path / "ws", mail_sink, "1000/s")
    with store.open_database(workspace.database_path) as db:
        everyone = [r.email for r in store.iter_recipients(db, 1)]
        unsubscribe_address(db, everyone[0], "mitglieder")
        store.suppress(db, everyone[1], None, SuppressionReason.BOUNCED, "test", NOW)
        listed = store.require_list(db, "mitglieder")
        frozen = build_hash(workspace.issues_dir / SLUG)
        counted = journal.preview(db, SLUG, listed.id, frozen, NOW)
        assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
        prepared = journal.prepare(db, SLUG, listed.id, frozen, NOW)
    assert counted == prepared
    assert counted.due == len(everyone) - 2


def test_jetzt_senden_with_dkim_signs_every_message_and_ends_its_signer(
    tmp_path: Path, mail_sink: MailSink
) -> None:
    """The desk sends from a thread of a process with many (the web server's): the DKIM
    signatures are made in a worker forked from there (messages/stream.py)."""
    workspace = sending_workspace(tmp_path / "ws", mail_sink, "1000/s")
    with_dkim(workspace, "example.org")
    count = members_on_list(workspace)
    with desk_running(workspace.root) as desk:
        client = desk.client()
        assert desk.post(client, f"/ausgaben/{SLUG}/versand").status_code == 303
        stand = wait_for(desk, client, {"done", "failed"})
        assert stand["state"] == "done", stand
        # The worker ended with the send, not with the desk.
        assert multiprocessing.active_children() == []
    assert len(mail_sink.received) == count
    key = serialization.load_pem_private_key((workspace.root / "dkim.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"nl._domainkey.example.org."
        return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    for received in mail_sink.received:
        assert received.data.count(b"DKIM-Signature:") == 2  # RSA and Ed25519
        assert dkim.verify(received.data, dnsfunc=dns)
