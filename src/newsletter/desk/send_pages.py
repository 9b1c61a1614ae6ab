"""Versand and Status: the send command's summary, Jetzt senden, the live progress with
Anhalten and Fortsetzen, the status with failures, and the sync with the web server."""

from __future__ import annotations

import io
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from newsletter import store
from newsletter.deliver import journal
from newsletter.desk.app import Desk, html
from newsletter.desk.issue_pages import _folder
from newsletter.desk.issues import send_running
from newsletter.desk.routing import notice_of, redirect
from newsletter.desk.sending import SendJob
from newsletter.desk.views import Context
from newsletter.desk.work import now, password_of
from newsletter.errors import NewsletterError

# The refusals that a render in the desk (Jetzt rendern) cures.
_STALE = ("build_stale", "build_old_version")


def _jobs(request: Request) -> dict[str, SendJob]:
    desk: Desk = request.app.state.desk
    return desk.state.setdefault("sends", {})  # type: ignore[no-any-return]


def _duration(texts: dict[str, Any], seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return str(texts["under_a_minute"])
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _status(context: Context, slug: str) -> journal.IssueStatus:
    with store.open_database(context.workspace.database_path) as db:
        return journal.status(db, slug)


def sync_view(context: Context) -> dict[str, Any] | None:
    from newsletter.store.syncstate import last_sync

    assert context.settings is not None
    if not context.settings.newsletter.web_remote:
        return None
    last = last_sync(context.workspace)
    return {"last": f"{last.astimezone():%d.%m.%Y %H:%M}" if last else ""}


def stand(context: Context, request: Request, slug: str) -> dict[str, Any]:
    """The progress of the issue's send: the journal's counts and the running job's pace."""
    texts = context.texts["send"]
    status = _status(context, slug)
    job = _jobs(request).get(slug)
    if job is not None and job.active:
        state = job.state.value
    elif status.unfinished and send_running(context.workspace):
        state = "elsewhere"
    elif job is not None:
        state = job.state.value
    else:
        state = "unfinished" if status.unfinished else "none"
    total = status.total - status.skipped
    done = status.sent + status.failed
    pace = job.per_minute() if job is not None and job.active else 0.0
    left = ""
    if job is not None and job.active and status.pending:
        assert context.settings is not None
        from newsletter.deliver.ratelimit import minimum_duration

        smtp = context.settings.require_smtp()
        seconds = max(
            minimum_duration(smtp.rate, status.pending),
            status.pending / pace * 60 if pace else 0.0,
        )
        left = _duration(texts, seconds)
    pause = ""
    if job is not None and job.active and job.progress and job.progress.pause:
        pause = str(texts["pause"]).format(reason=str(job.progress.pause.reason))
    error = hint = ""
    if job is not None and job.problem is not None:
        words = context.said(job.problem)
        error, hint = words.message, words.hint
    elif job is not None and job.error:
        # Not a mistake staff can fix: the details are in the desk's window (logged).
        error = str(context.texts["errors"]["unexpected"])
    return {
        "state": state,
        "state_text": texts["states"][state],
        "sent": status.sent,
        "failed": status.failed,
        "pending": status.pending,
        "total": total,
        "done": done,
        "rate": str(texts["rate_value"]).format(n=round(pace)) if pace else "–",
        "left": left or "–",
        "pause": pause,
        "error": error,
        "hint": hint,
        "active": job is not None and job.active,
    }


def send_page(context: Context, request: Request) -> Response:
    from newsletter.sending import plan_send

    folder = _folder(context, request)
    slug = folder.name
    current = stand(context, request, slug)
    plan = problem = None
    if current["state"] not in ("running", "stopping", "elsewhere"):
        try:
            plan = plan_send(context.workspace, folder, None, offline=False, now=now())
        except NewsletterError as error:
            problem = error
    texts = context.texts["send"]
    summary = None
    if plan is not None:
        rate = ", ".join(str(window) for window in plan.smtp.rate)
        summary = {
            "subject": plan.subject,
            "list": plan.list_name,
            "recipients": plan.recipients,
            "again": plan.again,
            "server": f"{plan.smtp.host}:{plan.smtp.port} ({plan.smtp.security})",
            "duration": f"{_duration(texts, plan.expected_seconds)} ({rate})",
            "resumed": plan.resumed,
            "others": [(u.name, u.due) for u in plan.others],
        }
    return html(
        context.render(
            "send.html",
            nav="overview",
            notice=notice_of(request),
            slug=slug,
            stand=current,
            summary=summary,
            problem=context.said(problem) if problem else None,
            stale=problem is not None and problem.key in _STALE,
            sync=sync_view(context),
        )
    )


def start(context: Context, request: Request, form: FormData) -> Response:
    from newsletter.sending import plan_send

    folder = _folder(context, request)
    jobs = _jobs(request)
    running = jobs.get(folder.name)
    if running is not None and running.active:
        return redirect(f"/ausgaben/{folder.name}/versand")
    plan = plan_send(context.workspace, folder, None, offline=False, now=now())
    if plan.recipients == 0:
        return redirect(f"/ausgaben/{folder.name}/status", context.texts["send"]["nobody"])
    job = SendJob(plan, password_of(plan.smtp))
    jobs[folder.name] = job
    job.start()
    return redirect(f"/ausgaben/{folder.name}/versand")


def stop(context: Context, request: Request, form: FormData) -> Response:
    folder = _folder(context, request)
    job = _jobs(request).get(folder.name)
    if job is not None:
        job.stop()
    return redirect(f"/ausgaben/{folder.name}/versand", context.texts["send"]["stopping"])


def progress(context: Context, request: Request) -> Response:
    folder = _folder(context, request)
    return JSONResponse(stand(context, request, folder.name))


def render(context: Context, request: Request, form: FormData) -> Response:
    """``newsletter render`` for the issue, when the Versand page found its build stale."""
    from newsletter.keys import load_keys
    from newsletter.rendering import build_issue

    folder = _folder(context, request)
    build_issue(context.workspace, folder, load_keys(context.workspace).unsubscribe)
    return redirect(f"/ausgaben/{folder.name}/versand", context.texts["send"]["rendered"])


def status_page(context: Context, request: Request) -> Response:
    folder = _folder(context, request)
    status = _status(context, folder.name)
    started = f"{status.started_at.astimezone():%d.%m.%Y %H:%M}" if status.started_at else ""
    return html(
        context.render(
            "status.html",
            nav="overview",
            notice=notice_of(request),
            slug=folder.name,
            status=status,
            started=started,
            sync=sync_view(context),
        )
    )


def failures_workbook(context: Context, request: Request) -> Response:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    folder = _folder(context, request)
    status = _status(context, folder.name)
    texts = context.texts["status"]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(texts["failed"])[:31])

    def row(values: list[str]) -> list[WriteOnlyCell]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula
            cells.append(cell)
        return cells

    sheet.append(row([texts["email"], texts["reason"], texts["kind"]]))
    for failure in status.failures:
        kind = texts["permanent"] if failure.permanent else texts["temporary"]
        sheet.append(row([failure.email, failure.reply, kind]))
    for address in status.uncertain:
        sheet.append(row([address, texts["uncertain_reason"], texts["uncertain"]]))
    buffer = io.BytesIO()
    book.save(buffer)
    name = f"fehler-{folder.name}.xlsx"
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def sync(context: Context, request: Request, form: FormData) -> Response:
    """``newsletter sync``: the web server's unsubscribes in, the archive out."""
    from newsletter.web.secret import sync_secret
    from newsletter.web.sync import run_sync, sync_client

    assert context.settings is not None
    settings = context.settings.newsletter
    with sync_client(settings, sync_secret(context.workspace)) as client:
        report = run_sync(context.workspace, client)
    words = context.texts["send"]["synced"].format(n=report.applied)
    back = str(form.get("back", "/"))
    return redirect(back if back.startswith("/ausgaben/") else "/", words)
