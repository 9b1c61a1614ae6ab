"""``issues/<slug>/build/``: the rendered email, its plain text and a preview message.

``preview.eml`` is what a member would get, addressed to a made-up sample member: no
real member's data ever lands in ``build/``. ``email.json`` keeps what the Messages
stage needs beside the HTML and text (the subject, the greeting's wording and the
per-member markers this render chose), so a build is complete on its own and a resumed
send uses exactly what was rendered.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.errors import IssueError
from newsletter.files import write_bytes_atomic, write_text_atomic
from newsletter.issue import BUILD_DIR, ISSUE_FILE, load_current_issue, read_sent_mark
from newsletter.members.tokens import sign_token
from newsletter.messages.compose import Addressee, compose_message, new_message_id
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import LEGACY_MARKERS, Greeting, Markers
from newsletter.workspace import Workspace

if TYPE_CHECKING:
    from newsletter.render.checks import RenderWarning
    from newsletter.render.email import RenderResult

HTML_FILE = "email.html"
TEXT_FILE = "email.txt"
PREVIEW_FILE = "preview.eml"
MANIFEST_FILE = "email.json"
_MARKER = re.compile(r"[a-z0-9]{32,}")

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
        date=datetime.now().astimezone(),
        message_id=new_message_id(settings),
    )
    # LF line ends: a file for people and tools to open; SMTP gets CRLF when sending.
    return message.as_bytes(policy=message.policy.clone(linesep="\n"))


class StrictWarningsError(IssueError):
    """``strict`` turned render's warnings into a failure; nothing was written."""

    def __init__(self, warnings: tuple[RenderWarning, ...]) -> None:
        count = len(warnings)
        super().__init__(
            f"{count} warning{'s' if count != 1 else ''} and --strict is on, so the previous "
            "build (if any) is left as it was",
            "fix what the warnings name, then render again",
        )
        self.warnings = warnings


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


def load_build(issue_dir: Path) -> RenderedEmail:
    """The rendered email of an issue, as ``build_issue`` wrote it."""
    folder = issue_dir / BUILD_DIR
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        greeting = manifest["greeting"]
        return RenderedEmail(
            subject=str(manifest["subject"]),
            html=(folder / HTML_FILE).read_text(encoding="utf-8"),
            text=(folder / TEXT_FILE).read_text(encoding="utf-8"),
            greeting=Greeting(named=str(greeting["named"]), anonymous=str(greeting["anonymous"])),
            markers=_markers(manifest),
        )
    except FileNotFoundError as error:
        raise IssueError(
            f"{issue_dir.name} has not been rendered ({error.filename} is missing)",
            f'run "newsletter render {issue_dir.name}"',
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise IssueError(
            f"{folder / MANIFEST_FILE}: damaged ({error})",
            f'run "newsletter render {issue_dir.name}" again',
        ) from None


def _markers(manifest: dict[str, Any]) -> Markers:
    if "markers" not in manifest:
        return LEGACY_MARKERS  # rendered before markers were random; see check_build_current
    markers = manifest["markers"]
    chosen = Markers(greeting=str(markers["greeting"]), token=str(markers["token"]))
    # A short or odd one (a hand-edited file) would fill members' data into text it matches.
    usable = all(_MARKER.fullmatch(marker) for marker in (chosen.greeting, chosen.token))
    if not usable or chosen.greeting in chosen.token or chosen.token in chosen.greeting:
        raise ValueError("markers: not the random markers render writes")
    return chosen


def build_hash(issue_dir: Path) -> str:
    """What a send freezes: the rendered files every member's message is made from."""
    digest = hashlib.sha256()
    for name in (HTML_FILE, TEXT_FILE, MANIFEST_FILE):
        digest.update((issue_dir / BUILD_DIR / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def check_build_current(workspace: Workspace, issue_dir: Path) -> None:
    """Refuse a build that is older than its issue.md or any template (render again), and
    one with the fixed markers of old versions, which content could write too."""
    if load_build(issue_dir).markers == LEGACY_MARKERS:  # a missing or damaged one says so
        raise IssueError(
            f"the build of {issue_dir.name} was made by an older version of newsletter, "
            "whose per-member fields a feed could fill into its own links",
            f"render again: newsletter render {issue_dir.name}",
        )
    built = min((issue_dir / BUILD_DIR / n).stat().st_mtime for n in (HTML_FILE, TEXT_FILE))
    sources = [issue_dir / ISSUE_FILE, *workspace.templates_dir.rglob("*")]
    newer = [path for path in sources if path.is_file() and path.stat().st_mtime > built]
    if newer:
        changed = (
            newer[0].relative_to(workspace.root)
            if newer[0].is_relative_to(workspace.root)
            else newer[0]
        )
        raise IssueError(
            f"the build of {issue_dir.name} is older than {changed.as_posix()}",
            f"render again: newsletter render {issue_dir.name}",
        )
