"""Mitglieder: lists and counts, search, add, unsubscribe, forget, import, export.

Every change is the function the ``members`` command calls (members/manage.py, the
importer's plan and apply), so the desk and the CLI cannot disagree.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from newsletter import clock, store
from newsletter.desk.app import Desk, html
from newsletter.desk.routing import field, notice_of, redirect
from newsletter.desk.views import Context
from newsletter.errors import MemberError
from newsletter.members.planner import ImportPlan, RowOutcome
from newsletter.store.member_search import member_page

# Upload names are kept only for their suffix (the reader goes by it) and the consent record.
_SAFE_NAME = (
    "".join(chr(c) for c in range(0x30, 0x3A))
    + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-"
)


@contextmanager
def database(context: Context) -> Iterator[store.Database]:
    with store.open_database(context.workspace.database_path) as db:
        yield db


def _default_list(context: Context) -> str:
    assert context.settings is not None
    return context.settings.newsletter.default_list


def members(context: Context, request: Request) -> Response:
    search = request.query_params.get("q", "")[:200]
    chosen = request.query_params.get("liste", "")
    try:
        page_number = int(request.query_params.get("seite", "1"))
    except ValueError:
        page_number = 1
    with database(context) as db:
        counts = store.list_counts(db)
        found = store.find_list(db, chosen) if chosen else None
        page = member_page(db, search, found.id if found else None, page_number)

    def page_link(number: int) -> str:
        query = {"q": search, "liste": found.name if found else "", "seite": str(number)}
        return "/mitglieder?" + urlencode({k: v for k, v in query.items() if v})

    return html(
        context.render(
            "members.html",
            nav="members",
            notice=notice_of(request),
            counts=counts,
            search=search,
            chosen=found.name if found else "",
            page=page,
            previous=page_link(page.page - 1) if page.page > 1 else "",
            next=page_link(page.page + 1) if page.page < page.pages else "",
            default_list=_default_list(context),
        )
    )


def add(context: Context, request: Request, form: FormData) -> Response:
    from newsletter.members.manage import add_member

    email, target = field(form, "email"), field(form, "list") or _default_list(context)
    with database(context) as db:
        result = add_member(
            db,
            email,
            target,
            first_name=field(form, "first_name"),
            last_name=field(form, "last_name"),
        )
    texts = context.texts["members"]
    words = texts["already"] if result.already_subscribed else texts["added"]
    return redirect("/mitglieder", words.format(email=email, list=target))


def _confirm(context: Context, request: Request, which: str) -> Response:
    texts = context.texts["members"]
    email = request.query_params.get("email", "")[:320]
    return html(
        context.render(
            "confirm.html",
            nav="members",
            title=texts[f"{which}_title"].format(email=email),
            text=texts[f"{which}_text"].format(email=email),
            action=f"/mitglieder/{'abmelden' if which == 'unsubscribe' else 'vergessen'}",
            email=email,
            confirm=texts[f"{which}_confirm"],
            danger=which == "forget",
        )
    )


def confirm_unsubscribe(context: Context, request: Request) -> Response:
    return _confirm(context, request, "unsubscribe")


def confirm_forget(context: Context, request: Request) -> Response:
    return _confirm(context, request, "forget")


def unsubscribe(context: Context, request: Request, form: FormData) -> Response:
    from newsletter.members.manage import unsubscribe_address

    with database(context) as db:
        result = unsubscribe_address(db, field(form, "email"), None)
    words = context.texts["members"]["unsubscribed_done"]
    return redirect("/mitglieder", words.format(email=result.email))


def forget(context: Context, request: Request, form: FormData) -> Response:
    from newsletter.members.manage import forget_address

    with database(context) as db:
        result = forget_address(db, field(form, "email"))
    words = context.texts["members"]["forgotten_done"]
    return redirect("/mitglieder", words.format(email=result.email))


def export(context: Context, request: Request) -> Response:
    from newsletter.members.export import export_file

    assert context.settings is not None
    with tempfile.TemporaryDirectory(prefix="newsletter-desk-") as folder:
        path = Path(folder) / "mitglieder.xlsx"
        with database(context) as db:
            export_file(
                store.iter_listings(db, None, None), path, context.settings.newsletter.locale
            )
        data = path.read_bytes()
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="mitglieder.xlsx"'},
    )


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class Upload:
    """An uploaded member file waiting for Übernehmen or Abbrechen, in a private folder."""

    path: Path
    list_name: str
    columns: tuple[tuple[str, str], ...] = ()  # (field, column): the CLI's --column

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def _uploads(request: Request) -> dict[str, Upload]:
    desk: Desk = request.app.state.desk
    return desk.state.setdefault("uploads", {})  # type: ignore[no-any-return]


def import_form(context: Context, request: Request) -> Response:
    with database(context) as db:
        lists = [item.name for item in store.all_lists(db)]
    return html(
        context.render(
            "import.html",
            nav="members",
            notice=notice_of(request),
            lists=lists,
            default_list=_default_list(context),
        )
    )


def _plan(context: Context, upload: Upload) -> tuple[Any, ImportPlan]:
    from newsletter.members.manage import plan_file_import
    from newsletter.members.readers import Field, open_member_file

    overrides = {Field(name): column for name, column in upload.columns}
    member_file = open_member_file(upload.path, overrides)
    with database(context) as db:
        return member_file, plan_file_import(db, member_file, upload.list_name, None)


def _safe_name(given: str) -> str:
    name = "".join(c if c in _SAFE_NAME else "_" for c in PurePath(given).name)[-100:]
    return name.lstrip(".") or "mitglieder.csv"


def upload(context: Context, request: Request, form: FormData) -> Response:
    sent = form.get("file")
    if not isinstance(sent, UploadFile) or not sent.filename:
        raise MemberError("no file was chosen", "choose the member file in the field Datei")
    folder = Path(tempfile.mkdtemp(prefix="newsletter-desk-"))  # private to this user
    path = folder / _safe_name(sent.filename)
    with path.open("wb") as target:
        shutil.copyfileobj(sent.file, target)
    columns = tuple(
        (name, field(form, f"column_{name}"))
        for name in ("email", "first_name", "last_name", "name")
        if field(form, f"column_{name}")
    )
    pending = Upload(path, field(form, "list") or _default_list(context), columns)
    try:
        member_file, plan = _plan(context, pending)
    except Exception:
        pending.discard()
        raise
    key = secrets.token_urlsafe(16)
    _uploads(request)[key] = pending
    return html(
        context.render(
            "import_plan.html",
            nav="members",
            key=key,
            file_name=sent.filename,
            format=member_file.format,
            plan=plan,
            rows=sum(plan.counts.values()),
            counts={outcome.value: plan.counts[outcome] for outcome in RowOutcome},
            rejected=plan.with_outcome(RowOutcome.REJECTED),
            suppressed=plan.with_outcome(RowOutcome.SUPPRESSED),
        )
    )


def apply(context: Context, request: Request, form: FormData) -> Response:
    from newsletter.members.applier import apply_import

    pending = _uploads(request).pop(str(request.path_params["key"]), None)
    if pending is None:
        return redirect("/mitglieder/import", context.texts["import"]["expired"])
    try:
        # Planned again: the database may have changed since the plan was shown (a web
        # unsubscribe), and the plan is only ever applied as the store is now.
        _member_file, plan = _plan(context, pending)
        with database(context) as db:
            result = apply_import(
                db,
                plan,
                source=f"import of {pending.path.name}",
                now=clock.utc_now(),
            )
    finally:
        pending.discard()
    words = context.texts["import"]["applied"]
    return redirect("/mitglieder", words.format(n=result.subscribed))


def cancel(context: Context, request: Request, form: FormData) -> Response:
    pending = _uploads(request).pop(str(request.path_params["key"]), None)
    if pending is not None:
        pending.discard()
    return redirect("/mitglieder", context.texts["import"]["cancelled"])
