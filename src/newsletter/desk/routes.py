"""The desk's pages and actions. Each calls the library functions the CLI calls."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from newsletter.desk import issue_pages as i
from newsletter.desk import member_pages as m
from newsletter.desk import send_pages as s
from newsletter.desk.app import Desk, html
from newsletter.desk.routing import field, notice_of, redirect
from newsletter.desk.views import Context
from newsletter.errors import NewsletterError, SettingsError


def _problems(context: Context) -> list[dict[str, str]]:
    texts = context.texts["overview"]
    if context.problem is not None:
        words = context.said(context.problem)
        return [{"title": texts["settings_problem"], "text": words.message, "hint": words.hint}]
    assert context.settings is not None
    try:
        context.settings.require_smtp()
    except SettingsError as error:
        words = context.said(error)
        return [{"title": texts["smtp_problem"], "text": words.message, "hint": words.hint}]
    return []


def _numbers(texts: dict[str, Any], row: Any) -> str:
    if row.status is None:
        return str(texts["posts"]).format(n=row.posts)
    status = row.status
    return str(texts["sent_numbers"]).format(
        sent=status.sent, failed=status.failed, pending=status.pending
    )


def overview(context: Context, request: Request) -> Response:
    from newsletter.desk.issues import issue_rows
    from newsletter.gather import GatherRequest, current_time, plan_gather

    rows: list[dict[str, Any]] = []
    since = ""
    if context.settings is not None:
        texts = context.texts["overview"]
        for row in issue_rows(context.workspace):
            words = context.said(row.problem) if row.problem else None
            rows.append(
                {
                    "slug": row.slug,
                    "subject": words.message if words else row.subject,
                    "fix": words.hint if words else "",
                    "state": row.state.value,
                    "numbers": _numbers(texts, row),
                    "editable": row.editable,
                }
            )
        try:
            cutoff = plan_gather(context.workspace, GatherRequest(), current_time()).cutoff
        except NewsletterError:
            cutoff = current_time()
        since = f"{cutoff:%Y-%m-%d}"
    return html(
        context.render(
            "overview.html",
            nav="overview",
            notice=notice_of(request),
            problems=_problems(context),
            issues=rows,
            since=since,
            can_gather=context.settings is not None,
            sync=s.sync_view(context) if context.settings is not None else None,
        )
    )


def new_issue(context: Context, request: Request, form: FormData) -> Response:
    from newsletter.desk.work import gather_issue

    try:
        since = date.fromisoformat(field(form, "since"))
    except ValueError:
        raise NewsletterError(
            f'"{field(form, "since")}" is not a date',
            "pick a day in the date field",
            key="not_a_date",
            params={"given": field(form, "since")},
        ) from None
    report = gather_issue(context.workspace, since, field(form, "slug") or None)
    return redirect(f"/ausgaben/{report.plan.slug}")


def routes(desk: Desk) -> list[BaseRoute]:
    return [
        Route("/", desk.page(overview), methods=["GET"]),
        Route("/ausgaben/neu", desk.action(new_issue), methods=["POST"]),
        Route("/ausgaben/{slug}", desk.page(i.edit), methods=["GET"]),
        Route("/ausgaben/{slug}", desk.action(i.change), methods=["POST"]),
        Route("/ausgaben/{slug}/email", desk.page(i.email), methods=["GET"]),
        Route("/ausgaben/{slug}/sammeln", desk.action(i.regather), methods=["POST"]),
        Route("/ausgaben/{slug}/test", desk.action(i.test_send), methods=["POST"]),
        Route("/ausgaben/{slug}/versand", desk.page(s.send_page), methods=["GET"]),
        Route("/ausgaben/{slug}/versand", desk.action(s.start), methods=["POST"]),
        Route("/ausgaben/{slug}/versand/stand", desk.page(s.progress), methods=["GET"]),
        Route("/ausgaben/{slug}/anhalten", desk.action(s.stop), methods=["POST"]),
        Route("/ausgaben/{slug}/rendern", desk.action(s.render), methods=["POST"]),
        Route("/ausgaben/{slug}/status", desk.page(s.status_page), methods=["GET"]),
        Route("/ausgaben/{slug}/fehler.xlsx", desk.page(s.failures_workbook), methods=["GET"]),
        Route("/abgleich", desk.action(s.sync), methods=["POST"]),
        Route("/mitglieder", desk.page(m.members), methods=["GET"]),
        Route("/mitglieder/hinzufuegen", desk.action(m.add), methods=["POST"]),
        Route("/mitglieder/abmelden", desk.page(m.confirm_unsubscribe), methods=["GET"]),
        Route("/mitglieder/abmelden", desk.action(m.unsubscribe), methods=["POST"]),
        Route("/mitglieder/vergessen", desk.page(m.confirm_forget), methods=["GET"]),
        Route("/mitglieder/vergessen", desk.action(m.forget), methods=["POST"]),
        Route("/mitglieder/export.xlsx", desk.page(m.export), methods=["GET"]),
        Route("/mitglieder/import", desk.page(m.import_form), methods=["GET"]),
        Route("/mitglieder/import", desk.action(m.upload), methods=["POST"]),
        Route("/mitglieder/import/{key}/uebernehmen", desk.action(m.apply), methods=["POST"]),
        Route("/mitglieder/import/{key}/abbrechen", desk.action(m.cancel), methods=["POST"]),
    ]
