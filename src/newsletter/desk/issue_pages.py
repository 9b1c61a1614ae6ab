"""Ausgabe bearbeiten: the issue's texts and posts, the live preview beside them, and
Test senden.

The form holds the whole draft: moving, removing and restoring a post re-shows the form
with the change (nothing written); Speichern writes issue.md with ``save_issue``, the
writer gather uses, so the file reads as the CLI flow leaves it. The preview is the
``newsletter preview`` build (in memory, the sample member's greeting filled in).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from newsletter.desk.app import Desk, html
from newsletter.desk.routing import field, notice_of, redirect
from newsletter.desk.views import Context
from newsletter.errors import DeliveryError, IssueError
from newsletter.issue import Issue, issue_folder, load_issue, read_sent_mark, save_issue
from newsletter.post import Post
from newsletter.preview.live import LiveBuild, Snapshot
from newsletter.workspace import Workspace

DESK_FILE = "desk.json"  # in .newsletter/: what the desk remembers per workspace
_MAX_TEST_ADDRESSES = 10


@dataclass(frozen=True)
class DraftPost:
    post: Post
    removed: bool


def _folder(context: Context, request: Request) -> Path:
    slug = str(request.path_params["slug"])
    folder = issue_folder(context.workspace, slug)
    if folder.parent != context.workspace.issues_dir.resolve():
        raise IssueError(f'no issue "{slug}"')
    return folder


def _editable(folder: Path) -> None:
    mark = read_sent_mark(folder)
    if mark is not None:
        raise IssueError(
            f"{folder.name} was sent on {mark.started_at:%Y-%m-%d}, so it is frozen",
            "start a new issue on the overview (Neue Ausgabe)",
        )


# ---------------------------------------------------------------- remembered settings


def remembered(workspace: Workspace) -> dict[str, Any]:
    try:
        data = json.loads((workspace.state_dir / DESK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(workspace: Workspace, **values: Any) -> None:
    from newsletter.files import write_text_atomic

    workspace.state_dir.mkdir(exist_ok=True)
    data = remembered(workspace) | values
    write_text_atomic(
        workspace.state_dir / DESK_FILE, json.dumps(data, indent=2) + "\n", private=True
    )


# ---------------------------------------------------------------- the preview


def live_build(request: Request, context: Context, folder: Path) -> LiveBuild:
    """The preview build of one issue, kept while the desk runs (rebuilt on a change)."""
    from newsletter.keys import load_keys
    from newsletter.preview.content import render_preview, watched_files

    desk: Desk = request.app.state.desk
    builds: dict[Path, LiveBuild] = desk.state.setdefault("previews", {})
    if folder not in builds:
        key = load_keys(context.workspace).unsubscribe
        root = context.workspace.root
        builds[folder] = LiveBuild(
            partial(render_preview, root, folder, key), partial(watched_files, root, folder)
        )
    return builds[folder]


def email(context: Context, request: Request) -> Response:
    from newsletter.preview.server import _email_policy  # the preview's own rule for the email

    folder = _folder(context, request)
    content = live_build(request, context, folder).current().content
    if content is None:
        return HTMLResponse("", 404)
    return HTMLResponse(
        content.html,
        headers={"Content-Security-Policy": _email_policy(content.own_hosts)},
    )


# ---------------------------------------------------------------- the form


def _draft_from_form(folder: Path, form: FormData) -> tuple[Issue, list[DraftPost]]:
    """The issue as the form has it; posts the form does not know (a gather since the
    page was shown) are kept, after the form's."""
    on_disk = load_issue(folder)
    by_id = {post.id: post for post in on_disk.posts}
    drafts: list[DraftPost] = []
    seen: set[str] = set()
    for index, post_id in enumerate(form.getlist("post_id")):
        if not isinstance(post_id, str) or post_id in seen:
            continue
        original = by_id.get(post_id)
        if original is None:
            continue
        seen.add(post_id)
        edited = replace(
            original,
            title=field(form, f"title_{index}") or original.title,
            summary=field(form, f"summary_{index}"),
        )
        drafts.append(DraftPost(edited, field(form, f"removed_{index}") == "1"))
    drafts += [DraftPost(post, False) for post in on_disk.posts if post.id not in seen]
    issue = replace(
        on_disk,
        subject=field(form, "subject") or on_disk.subject,
        preheader=field(form, "preheader"),
        editorial=str(form.get("editorial", "")).replace("\r\n", "\n"),
    )
    return issue, drafts


def _apply_step(drafts: list[DraftPost], step: str) -> list[DraftPost]:
    """up:N, down:N, remove:N, restore:N on the draft's posts."""
    verb, _, number = step.partition(":")
    if not number.isdigit() or not 0 <= int(number) < len(drafts):
        return drafts
    index = int(number)
    changed = list(drafts)
    if verb == "up" and index > 0:
        changed[index - 1], changed[index] = changed[index], changed[index - 1]
    elif verb == "down" and index < len(changed) - 1:
        changed[index + 1], changed[index] = changed[index], changed[index + 1]
    elif verb in ("remove", "restore"):
        changed[index] = DraftPost(changed[index].post, verb == "remove")
    return changed


def _show(
    context: Context,
    request: Request,
    folder: Path,
    issue: Issue,
    drafts: list[DraftPost],
    *,
    unsaved: bool,
    notice: str = "",
    test_result: dict[str, Any] | None = None,
) -> Response:
    snapshot: Snapshot = live_build(request, context, folder).current()
    return html(
        context.render(
            "issue.html",
            nav="overview",
            notice=notice or notice_of(request),
            slug=folder.name,
            issue=issue,
            drafts=drafts,
            unsaved=unsaved,
            preview=snapshot,
            test_addresses=", ".join(remembered(context.workspace).get("test_addresses", [])),
            test_result=test_result,
        )
    )


def edit(context: Context, request: Request) -> Response:
    folder = _folder(context, request)
    _editable(folder)
    issue = load_issue(folder)
    drafts = [DraftPost(post, False) for post in issue.posts]
    return _show(context, request, folder, issue, drafts, unsaved=False)


def change(context: Context, request: Request, form: FormData) -> Response:
    """Every button of the edit form: Speichern, or one step on the posts."""
    folder = _folder(context, request)
    _editable(folder)
    issue, drafts = _draft_from_form(folder, form)
    step = field(form, "step")
    if step and step != "save":
        drafts = _apply_step(drafts, step)
        return _show(context, request, folder, issue, drafts, unsaved=True)
    kept = tuple(draft.post for draft in drafts if not draft.removed)
    save_issue(folder, replace(issue, posts=kept))
    return redirect(f"/ausgaben/{folder.name}", context.texts["issue"]["saved"])


def regather(context: Context, request: Request, form: FormData) -> Response:
    from newsletter.desk.work import gather_issue

    folder = _folder(context, request)
    _editable(folder)
    report = gather_issue(context.workspace, None, folder.name)
    words = context.texts["issue"]["regathered"].format(n=len(report.added))
    return redirect(f"/ausgaben/{folder.name}", words)


# ---------------------------------------------------------------- Test senden


def _addresses(text: str) -> list[str]:
    found = [part.strip() for part in text.replace(";", ",").replace("\n", ",").split(",")]
    addresses = [part for part in found if part]
    if not addresses:
        raise DeliveryError(
            "no test address given", "write one or more addresses into Test-Adressen"
        )
    if len(addresses) > _MAX_TEST_ADDRESSES:
        raise DeliveryError(
            f"{len(addresses)} test addresses; a test goes to {_MAX_TEST_ADDRESSES} at most",
            "send to the list with Versand instead",
        )
    return addresses


def test_send(context: Context, request: Request, form: FormData) -> Response:
    from newsletter.desk.work import now, password_of
    from newsletter.members.manage import address
    from newsletter.sending import (
        messages_for_test_send,
        render_if_stale,
        run_test_send,
    )

    folder = _folder(context, request)
    assert context.settings is not None
    addresses = [address(given) for given in _addresses(field(form, "test_addresses"))]
    remember(context.workspace, test_addresses=addresses)
    smtp = context.settings.require_smtp()
    rendered = render_if_stale(context.workspace, folder)
    messages = messages_for_test_send(context.workspace, folder, addresses, clock=now)
    summary = run_test_send(smtp, messages, password_of(smtp))
    issue = load_issue(folder)
    result = {
        "rendered": rendered.reason if rendered else "",
        "accepted": summary.accepted,
        "failures": [(f.recipient, f.reason) for f in summary.failures],
        "server": f"{smtp.host}:{smtp.port}",
        "at": f"{now():%H:%M:%S}",
    }
    drafts = [DraftPost(post, False) for post in issue.posts]
    return _show(context, request, folder, issue, drafts, unsaved=False, test_result=result)
