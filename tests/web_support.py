"""What the web tests share: workspaces with members, the real app on 127.0.0.1, tokens."""

from __future__ import annotations

import re
import shutil
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from starlette.applications import Starlette

from newsletter import store
from newsletter.bundled import sample_settings
from newsletter.issue import SentMark, write_sent_mark
from newsletter.keys import load_keys
from newsletter.members import manage
from newsletter.members.tokens import sign_token
from newsletter.rendering import build_issue
from newsletter.scaffold import create_workspace
from newsletter.web.app import create_app
from newsletter.web.config import web_config
from newsletter.web.server import DEADLINES, ReadDeadlines, bind, make_server
from newsletter.workspace import Workspace
from tests.render_support import issue_dir, render_workspace
from tests.server_support import running

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def new_workspace(folder: Path) -> Workspace:
    """A workspace as `init` makes it, with the sample settings."""
    workspace = create_workspace(folder)
    shutil.copyfile(sample_settings(), workspace.settings_file)
    return workspace


def with_settings(workspace: Workspace, **values: bool | str) -> Workspace:
    """Set keys of [newsletter] in newsletter.toml; a fresh Workspace reads them."""
    path = workspace.settings_file
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        toml = ("true" if value else "false") if isinstance(value, bool) else f'"{value}"'
        found = re.search(rf"^{key} = .*$", text, re.MULTILINE)
        if found:
            text = f"{text[: found.start()]}{key} = {toml}{text[found.end() :]}"
        else:
            text = text.replace("[newsletter]\n", f"[newsletter]\n{key} = {toml}\n", 1)
    path.write_text(text, encoding="utf-8")
    return Workspace(workspace.root)


def subscribe(workspace: Workspace, address: str, *lists: str) -> dict[str, str]:
    """Put ``address`` on ``lists``; returns each list's unsubscribe token for it."""
    tokens = {}
    key = load_keys(workspace).unsubscribe
    with store.open_database(workspace.database_path) as db:
        for name in lists:
            manage.add_member(db, address, name, first_name=address.split("@")[0].title())
        member = store.find_member(db, manage.address(address))
        assert member is not None
        for subscription in store.subscriptions_of(db, member.id):
            tokens[subscription.list_name] = sign_token(key, subscription.id)
    return tokens


def recipients(workspace: Workspace, list_name: str = "mitglieder") -> set[str]:
    """Who the next send of ``list_name`` goes to: the query the sender uses."""
    with store.open_database(workspace.database_path) as db:
        return {r.email for r in manage.recipients(db, list_name)}


def database_rows(workspace: Workspace) -> dict[str, list[tuple[object, ...]]]:
    """Everything the web side could change, to show that it changed nothing."""
    tables = ("members", "subscriptions", "suppressions", "web_events", "applied_web_events")
    with store.open_database(workspace.database_path) as db:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


def render_sample(folder: Path, **settings: bool | str) -> Path:
    """The render tests' sample issue, rendered with ``settings``; returns its folder."""
    workspace = with_settings(render_workspace(folder), **settings)
    build_issue(workspace, issue_dir(workspace), load_keys(workspace).unsubscribe)
    return issue_dir(workspace)


def mark_sent(workspace: Workspace, build_source: Path, slug: str) -> Path:
    """An issue folder with a rendered build (copied) and, sent, as the first send leaves it."""
    folder = workspace.issues_dir / slug
    shutil.copytree(build_source, folder)
    write_sent_mark(folder, SentMark(NOW, "0" * 64))
    return folder


def web_app(workspace: Workspace, **changes: object) -> Starlette:
    """The app `newsletter serve` runs for ``workspace``; ``changes`` replace config fields."""
    return create_app(replace(web_config(workspace), **changes))  # type: ignore[arg-type]


@contextmanager
def serving(app: Starlette, deadlines: ReadDeadlines = DEADLINES) -> Iterator[str]:
    """Run ``app`` with the web side's uvicorn settings on 127.0.0.1; yields its URL."""
    sock = bind("127.0.0.1", 0)
    with running(make_server(app, deadlines), sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


# The tests speak plain HTTP to 127.0.0.1; a context without CAs saves loading them for
# every client (a quarter of a second each) and could verify no certificate anyway.
_NO_CERTIFICATES = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def local_client(url: str) -> httpx.Client:
    """A client for the app at ``url`` on 127.0.0.1."""
    return httpx.Client(base_url=url, verify=_NO_CERTIFICATES)
