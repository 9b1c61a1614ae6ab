"""What the desk shows of the issues: each one's state and numbers, read from the same
files and journal the CLI writes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from newsletter import store
from newsletter.deliver import journal
from newsletter.errors import NewsletterError
from newsletter.issue import ISSUE_FILE, load_current_issue, read_sent_mark
from newsletter.render.build import check_build_current
from newsletter.sending import SEND_LOCK
from newsletter.workspace import Workspace


class IssueState(StrEnum):
    DRAFT = "draft"
    RENDERED = "rendered"
    SENDING = "sending"
    INTERRUPTED = "interrupted"
    SENT = "sent"


@dataclass(frozen=True)
class IssueRow:
    slug: str
    subject: str
    state: IssueState
    posts: int
    status: journal.IssueStatus | None  # None: nothing of it was ever handed to the relay

    @property
    def editable(self) -> bool:
        return self.state in (IssueState.DRAFT, IssueState.RENDERED)


def send_running(workspace: Workspace) -> bool:
    """Whether a send (the CLI's or a desk's) holds this workspace's send lock now."""
    from filelock import FileLock, Timeout

    path = workspace.state_dir / SEND_LOCK
    if not path.exists():
        return False
    try:
        with FileLock(path, timeout=0):
            return False
    except Timeout:
        return True


def issue_folders(workspace: Workspace) -> list[Path]:
    """Every issue folder, newest name first."""
    folders = [path.parent for path in workspace.issues_dir.glob(f"*/{ISSUE_FILE}")]
    return sorted(folders, key=lambda folder: folder.name, reverse=True)


def issue_state(
    workspace: Workspace, folder: Path, status: journal.IssueStatus | None, running: bool
) -> IssueState:
    if status is not None and status.unfinished:
        return IssueState.SENDING if running else IssueState.INTERRUPTED
    if read_sent_mark(folder) is not None or (status is not None and status.started_at):
        return IssueState.SENT
    try:
        check_build_current(workspace, folder)
    except NewsletterError:
        return IssueState.DRAFT
    return IssueState.RENDERED


def issue_rows(workspace: Workspace, *, running: bool | None = None) -> list[IssueRow]:
    settings = workspace.settings.newsletter
    folders = issue_folders(workspace)
    statuses: dict[str, journal.IssueStatus] = {}
    if workspace.database_path.exists():
        with store.open_database(workspace.database_path) as db:
            for folder in folders:
                current = journal.status(db, folder.name)
                if current.total:
                    statuses[folder.name] = current
    busy = running if running is not None else (statuses != {} and send_running(workspace))
    rows = []
    for folder in folders:
        status = statuses.get(folder.name)
        try:
            issue = load_current_issue(folder, settings)
            subject, posts = issue.subject, len(issue.posts)
        except NewsletterError as error:
            subject, posts = str(error), 0
        state = issue_state(workspace, folder, status, busy)
        rows.append(IssueRow(folder.name, subject, state, posts, status))
    return rows
