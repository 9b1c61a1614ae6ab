"""Render an issue and write its build folder, with ``preview.eml`` beside the email.

An orchestrator above render and messages: the preview is a message, and the render
stage must not need the message stage to write its files.
``preview.eml`` is what a member would get, addressed to a made-up sample member: no
real member's data ever lands in ``build/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter import clock
from newsletter.errors import IssueError, StrictWarningsError
from newsletter.files import write_bytes_atomic, write_text_atomic
from newsletter.issue import BUILD_DIR, load_current_issue, read_sent_mark
from newsletter.members.tokens import sign_token
from newsletter.messages.compose import Addressee, compose_message, new_message_id
from newsletter.render.build import (
    HTML_FILE,
    MANIFEST_FILE,
    PREVIEW_FILE,
    TEXT_FILE,
    settings_snapshot,
)
from newsletter.render.model import RenderedEmail
from newsletter.workspace import Workspace

if TYPE_CHECKING:
    from newsletter.render.email import RenderResult

SAMPLE_MEMBER = Addressee(
    address="erika.mustermann@example.org", name="Erika Mustermann", first_name="Erika"
)
# A made-up subscription: its token is signed like a real one but names no one.
SAMPLE_SUBSCRIPTION_ID = "Beispiel-Erika-0000000"


@dataclass(frozen=True)
class Build:
    folder: Path
    result: RenderResult

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(self.folder / name for name in (HTML_FILE, TEXT_FILE, PREVIEW_FILE))


def preview_bytes(
    email: RenderedEmail, workspace: Workspace, list_name: str, unsubscribe_key: bytes
) -> bytes:
    settings = workspace.settings.newsletter
    message = compose_message(
        email,
        SAMPLE_MEMBER,
        sign_token(unsubscribe_key, SAMPLE_SUBSCRIPTION_ID),
        settings,
        list_name=list_name,
        date=clock.now(),
        message_id=new_message_id(settings),
    )
    # LF line ends: a file for people and tools to open; SMTP gets CRLF when sending.
    return message.as_bytes(policy=message.policy.clone(linesep="\n"))


def build_issue(
    workspace: Workspace, issue_dir: Path, unsubscribe_key: bytes, *, strict: bool = False
) -> Build:
    """Render the issue in ``issue_dir`` and write its build folder.

    A sent issue keeps its build: a resumed send must deliver what the first part did.
    With ``strict``, any warning raises StrictWarningsError before a file is written:
    a failed strict render must not leave a sendable build behind.
    """
    mark = read_sent_mark(issue_dir)
    if mark is not None:
        raise IssueError(
            f"{issue_dir.name} was sent (first send started {mark.started_at:%Y-%m-%d %H:%M}), "
            "so its build is frozen",
            "to change it, make a new issue with newsletter gather --slug NEW-SLUG",
            key="issue_frozen",
            params={"slug": issue_dir.name, "day": f"{mark.started_at:%d.%m.%Y}"},
        )
    issue = load_current_issue(issue_dir, workspace.settings.newsletter)
    # Here: send reads builds through this module and needs none of the templating.
    from newsletter.render.email import render_email

    result = render_email(issue, workspace.settings, workspace.templates_dir)
    if strict and result.warnings:
        raise StrictWarningsError(result.warnings)
    email = result.email
    list_name = issue.list_name or workspace.settings.newsletter.default_list
    folder = issue_dir / BUILD_DIR
    manifest = {
        "subject": email.subject,
        "greeting": {"named": email.greeting.named, "anonymous": email.greeting.anonymous},
        "markers": {"greeting": email.markers.greeting, "token": email.markers.token},
        "settings": settings_snapshot(workspace.settings.newsletter),
    }
    write_text_atomic(folder / HTML_FILE, email.html)
    write_text_atomic(folder / TEXT_FILE, email.text)
    write_bytes_atomic(
        folder / PREVIEW_FILE, preview_bytes(email, workspace, list_name, unsubscribe_key)
    )
    write_text_atomic(
        folder / MANIFEST_FILE, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    )
    return Build(folder, result)
