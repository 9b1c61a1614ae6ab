"""`newsletter bounces` against a real Dovecot IMAP server on 127.0.0.1, and over mbox.

Dovecot runs from a config in a temporary folder: listen = 127.0.0.1 on a free port,
no SSL, one passwd-file user with a non-root uid, login and internal processes as the
Debian users dovenull and dovecot. It needs root to switch to them (CI runs as root).
"""

from __future__ import annotations

import imaplib
import mailbox
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from newsletter import store
from newsletter.bounces.explain import bounce_history
from newsletter.bounces.mailboxes import imap_source, process
from newsletter.bounces.process import Outcome, Policy
from newsletter.cli import app
from newsletter.demo import demo_workspace
from newsletter.errors import BounceError
from newsletter.keys import load_keys
from newsletter.settings import BounceSettings, Security
from newsletter.store.records import SubscriptionStatus
from newsletter.workspace import Workspace

from .conftest import IN_CI
from .deliver_support import self_signed_certificate

CORPUS = Path(__file__).parent / "fixtures" / "bounces"
USER = "bounces@example.org"
PASSWORD = "geheim-123"
UMLAUT_USER = "post@example.org"
UMLAUT_PASSWORD = "Grüße-aus-Köln"
DEAD = "max.mustermann@example.org"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
"""


@dataclass(frozen=True)
class Dovecot:
    port: int  # IMAP, with STARTTLS
    tls_port: int  # IMAP over TLS
    root: Path
    certificate: Path  # self-signed for 127.0.0.1

    def connect(self) -> imaplib.IMAP4:
        connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        connection.login(USER, PASSWORD)
        return connection


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dovecot(need_program: Callable[[str], str]) -> Iterator[Dovecot]:
    program = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin")
    if program is None:
        program = need_program("dovecot")
    program_openssl = need_program("openssl")
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("Dovecot needs root to switch to its users, and CI must run every test")
        pytest.skip("Dovecot needs root to switch to its users dovenull and dovecot")
    mail_user = pwd.getpwnam("nobody")
    # Not under pytest's tmp_path: that is private to root, and the mail and login
    # processes (nobody, dovenull) must reach their folders.
    root = Path(tempfile.mkdtemp(prefix="newsletter-dovecot-"))
    root.chmod(0o755)
    home = root / "home"
    home.mkdir()
    os.chown(home, mail_user.pw_uid, mail_user.pw_gid)
    port, tls_port = _free_port(), _free_port()
    cert, _ = self_signed_certificate(program_openssl, root)
    ids = f"{mail_user.pw_uid}:{mail_user.pw_gid}"
    (root / "passwd").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{ids}::{home}::\n"
        f"{UMLAUT_USER}:{{PLAIN}}{UMLAUT_PASSWORD}:{ids}::{home}/post::\n",
        encoding="utf-8",
    )
    config = root / "dovecot.conf"
    config.write_text(
        CONFIG.format(root=root, port=port, tls_port=tls_port, uid=mail_user.pw_uid),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [program, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (
                        (root / "dovecot.log").read_text(errors="replace")
                        if (root / "dovecot.log").exists()
                        else ""
                    )
                    output = (
                        process.stdout.read().decode(errors="replace") if process.stdout else ""
                    )
                    pytest.fail(f"Dovecot did not start: {output} {log}")
                time.sleep(0.1)
        yield Dovecot(port, tls_port, root, cert)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        shutil.rmtree(root, ignore_errors=True)


def run(workspace: Workspace, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, ["--workspace", str(workspace.root), *args], env=env)


@pytest.fixture
def members(tmp_path: Path) -> Workspace:
    workspace = demo_workspace(tmp_path / "ws", 2525)
    result = run(workspace, "members", "import", str(workspace.root / "sample-members.csv"))
    assert result.exit_code == 0, result.output
    return workspace


def with_bounces_table(workspace: Workspace, port: int, user: str = USER, extra: str = "") -> None:
    toml = workspace.root / "newsletter.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8")
        + f"""
[bounces]
host = "127.0.0.1"
port = {port}
security = "none"
username = "{user}"
password_env = "TEST_BOUNCES_PASSWORD"
{extra}
""",
        encoding="utf-8",
    )


def dead_bounce() -> bytes:
    text = (CORPUS / "postfix_user_unknown.eml").read_text(encoding="utf-8")
    return text.replace("erika.beispiel@posteo.example", DEAD).encode("utf-8")


def status_of(workspace: Workspace, address: str) -> SubscriptionStatus:
    with store.open_database(workspace.database_path) as db:
        row = db.execute(
            "SELECT s.status FROM subscriptions s JOIN members m ON m.id = s.member_id "
            "WHERE m.email = ?",
            (address,),
        ).fetchone()
    return SubscriptionStatus(row[0])


def folder_count(connection: imaplib.IMAP4, folder: str) -> int:
    typ, data = connection.select(f'"{folder}"', readonly=True)
    assert typ == "OK", data
    return int(data[0] or b"0")


@pytest.mark.dovecot
def test_bounces_read_over_imap_are_applied_and_moved(dovecot: Dovecot, members: Workspace) -> None:
    connection = dovecot.connect()
    for mail in (
        dead_bounce(),
        (CORPUS / "autoreply_en.eml").read_bytes(),
        (CORPUS / "human_reply.eml").read_bytes(),
    ):
        typ, data = connection.append("INBOX", "", imaplib.Time2Internaldate(time.time()), mail)
        assert typ == "OK", data
    with_bounces_table(members, dovecot.port)

    result = run(members, "bounces", env={"TEST_BOUNCES_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "3 read: 1 bounced, 1 auto-reply ignored, 1 unknown"
    assert "Re: Neues aus dem Ortsverein" in result.stdout  # the one left is listed
    assert status_of(members, DEAD) is SubscriptionStatus.BOUNCED
    assert status_of(members, "erika.mustermann@example.org") is SubscriptionStatus.SUBSCRIBED
    assert folder_count(connection, "INBOX") == 1
    assert folder_count(connection, "Verarbeitet") == 2

    again = run(members, "bounces", env={"TEST_BOUNCES_PASSWORD": PASSWORD})
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == "1 read: 1 unknown"
    connection.logout()


@pytest.mark.dovecot
def test_a_wrong_password_is_one_line_and_exit_1(dovecot: Dovecot, members: Workspace) -> None:
    with_bounces_table(members, dovecot.port)
    result = run(members, "bounces", env={"TEST_BOUNCES_PASSWORD": "falsch"})
    assert result.exit_code == 1
    assert "refused the login of bounces@example.org" in result.output
    assert "Traceback" not in result.output


@pytest.mark.dovecot
def test_a_password_with_umlauts_logs_in(dovecot: Dovecot, members: Workspace) -> None:
    # imaplib writes LOGIN in ASCII only: "Grüße" was a UnicodeEncodeError traceback.
    with_bounces_table(members, dovecot.port, user=UMLAUT_USER)
    result = run(members, "bounces", env={"TEST_BOUNCES_PASSWORD": UMLAUT_PASSWORD})
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "0 read"


@pytest.mark.dovecot
def test_a_missing_folder_is_one_line_and_exit_1(dovecot: Dovecot, members: Workspace) -> None:
    with_bounces_table(members, dovecot.port, extra='folder = "Rückläufer"')
    result = run(members, "bounces", env={"TEST_BOUNCES_PASSWORD": PASSWORD})
    assert result.exit_code == 1
    assert "the IMAP server refused to open the folder 'Rückläufer'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.dovecot
@pytest.mark.parametrize("security", [Security.TLS, Security.STARTTLS])
def test_tls_and_starttls_verify_the_certificate(
    dovecot: Dovecot, members: Workspace, security: Security
) -> None:
    connection = dovecot.connect()
    connection.append("INBOX", "", imaplib.Time2Internaldate(time.time()), dead_bounce())
    connection.logout()
    port = dovecot.tls_port if security is Security.TLS else dovecot.port
    settings = BounceSettings(
        host="127.0.0.1", port=port, security=security, username=USER, password_env=None
    )
    key = load_keys(members).unsubscribe
    with pytest.raises(BounceError) as caught, imap_source(settings, PASSWORD):
        pass  # the system does not trust the test's certificate
    assert f"the TLS certificate of 127.0.0.1:{port} could not be verified" in str(caught.value)
    trusting = ssl.create_default_context(cafile=str(dovecot.certificate))
    with (
        imap_source(settings, PASSWORD, tls=trusting) as source,
        store.open_database(members.database_path) as db,
    ):
        result = process(source, db, key, Policy(), datetime.now(UTC))
    assert [item.outcome for _, item in result.handled] == [Outcome.BOUNCED]
    assert status_of(members, DEAD) is SubscriptionStatus.BOUNCED


def test_without_a_host_it_says_what_to_set(members: Workspace) -> None:
    result = run(members, "bounces")
    assert result.exit_code == 1
    assert "there is no host in [bounces]" in result.output


def test_an_unreachable_server_is_one_line_and_exit_1(members: Workspace) -> None:
    with_bounces_table(members, _free_port())
    result = run(members, "bounces", env={"TEST_BOUNCES_PASSWORD": "x"})
    assert result.exit_code == 1
    assert "cannot connect to the IMAP server 127.0.0.1:" in result.output


def test_mbox_is_read_and_left_as_it_is(members: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "export.mbox"
    box = mailbox.mbox(path)
    box.add(dead_bounce())
    box.add((CORPUS / "autoreply_de.eml").read_bytes())
    box.flush()
    before = path.read_bytes()
    result = run(members, "bounces", "--mbox", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "2 read: 1 bounced, 1 auto-reply ignored"
    assert status_of(members, DEAD) is SubscriptionStatus.BOUNCED
    assert path.read_bytes() == before


def test_forgetting_a_member_erases_their_bounce_records(
    members: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "export.mbox"
    box = mailbox.mbox(path)
    box.add(dead_bounce())
    box.flush()
    assert run(members, "bounces", "--mbox", str(path)).exit_code == 0
    with store.open_database(members.database_path) as db:
        assert len(bounce_history(db, DEAD)) == 1
    result = run(members, "members", "forget", DEAD)
    assert result.exit_code == 0, result.output
    with store.open_database(members.database_path) as db:
        assert bounce_history(db, DEAD) == []
        assert db.execute("SELECT count(*) FROM bounces").fetchone()[0] == 0


def test_a_folder_that_is_no_maildir_is_one_line(members: Workspace, tmp_path: Path) -> None:
    result = run(members, "bounces", "--maildir", str(tmp_path))
    assert result.exit_code == 1
    assert "is not a Maildir" in result.output
