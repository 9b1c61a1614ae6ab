"""What the preview shows of an issue: the email as the made-up sample member gets it.

The preview renders in memory and writes nothing: ``build/`` stays what the last
``newsletter render`` made, which is what ``send`` checks and sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from newsletter.issue import GATHERED_FILE, ISSUE_FILE, load_current_issue
from newsletter.members.tokens import sign_token
from newsletter.render.checks import RenderWarning
from newsletter.render.email import render_email
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import MemberFields
from newsletter.rendering import SAMPLE_MEMBER, SAMPLE_SUBSCRIPTION_ID
from newsletter.workspace import Workspace


@dataclass(frozen=True)
class PreviewContent:
    subject: str
    preheader: str
    html: str
    text: str
    warnings: tuple[str, ...]
    # The office's own hosts: the only ones the email may load images and fonts from.
    own_hosts: frozenset[str]
    # The warnings themselves, for a front end's own wording (their keys and values).
    render_warnings: tuple[RenderWarning, ...] = ()


def sample_member_fields(email: RenderedEmail, unsubscribe_key: bytes) -> MemberFields:
    """The made-up sample member's greeting and token, as in build/preview.eml."""
    return MemberFields(
        greeting=email.greeting.for_member(SAMPLE_MEMBER.first_name, SAMPLE_MEMBER.name),
        token=sign_token(unsubscribe_key, SAMPLE_SUBSCRIPTION_ID),
    )


def render_preview(workspace_root: Path, issue_dir: Path, unsubscribe_key: bytes) -> PreviewContent:
    # A new Workspace each time, so an edited newsletter.toml is read again.
    workspace = Workspace(workspace_root)
    settings = workspace.settings
    issue = load_current_issue(issue_dir, settings.newsletter)
    result = render_email(issue, settings, workspace.templates_dir)
    email = result.email
    fields = sample_member_fields(email, unsubscribe_key)
    return PreviewContent(
        subject=email.subject,
        preheader=issue.preheader,
        html=email.markers.fill_html(email.html, fields),
        text=email.markers.fill_text(email.text, fields),
        warnings=tuple(str(warning) for warning in result.warnings),
        own_hosts=settings.own_hosts,
        render_warnings=tuple(result.warnings),
    )


def watched_files(workspace_root: Path, issue_dir: Path) -> list[Path]:
    """Every file whose change changes the email: the issue (with gather's memory of its
    derived texts), the settings, the templates."""
    workspace = Workspace(workspace_root)
    templates = sorted(p for p in workspace.templates_dir.rglob("*") if p.is_file())
    return [issue_dir / ISSUE_FILE, issue_dir / GATHERED_FILE, workspace.settings_file, *templates]
