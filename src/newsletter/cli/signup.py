"""``members show`` (a person's consent records) and ``signup-form`` (the form's HTML)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from newsletter.cli.members import members_app
from newsletter.cli.state import out, state


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "-"


def show(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The member's e-mail address.")],
) -> None:
    """Show a person's subscriptions with their legal basis and the full consent record.

    This is the proof of consent to hand over on request (Art. 7(1) GDPR): for a web
    sign-up the consent text and its version, when it was asked for and confirmed, and
    the confirming IP address.

    Example: newsletter members show anna@example.org
    """
    from newsletter import store
    from newsletter.bounces.explain import bounce_history
    from newsletter.signup.proof import member_record

    workspace = state(ctx).workspace()
    with store.open_database(workspace.database_path) as db:
        record = member_record(db, address)
        bounces = bounce_history(db, record.member.email)
    member = record.member
    names = " ".join(n for n in (member.first_name, member.last_name) if n) or member.name
    lines = [f"{member.email}" + (f" ({names})" if names else "")]
    lines.append(f"  member since {_when(member.created_at)}")
    for sub in record.subscriptions:
        lines += [
            f"  list {sub.list_name}: {sub.status} since {_when(sub.status_changed_at)}",
            f"    basis:         {sub.basis}",
            f"    how:           {sub.method}, source {sub.source}",
            f"    subscribed at: {_when(sub.subscribed_at)}",
        ]
        if sub.requested_at or sub.confirmed_at:
            lines += [
                f"    requested at:  {_when(sub.requested_at)}",
                f"    confirmed at:  {_when(sub.confirmed_at)}",
            ]
        if sub.ip:
            lines.append(f"    confirmed from IP address {sub.ip}")
        if sub.text:
            version = f" (version {sub.text_version})" if sub.text_version else ""
            lines.append(f"    consent text{version}: {sub.text}")
    for suppression in record.suppressions:
        where = suppression.list_name or "all lists"
        lines.append(
            f"  suppressed on {where}: {suppression.reason} ({suppression.source}, "
            f"{_when(suppression.created_at)})"
        )
    lines += [f"  bounce mail of {line}" for line in bounces]
    out.print("\n".join(lines), markup=False)


def signup_form(ctx: typer.Context) -> None:
    """Print the sign-up form as HTML to paste into your website.

    It posts to the web side (web_url/anmelden): no JavaScript, nothing loaded from
    another server. Needs [signup] in newsletter.toml.

    Example: newsletter signup-form > anmeldung.html
    """
    from newsletter.errors import SettingsError
    from newsletter.signup.consent import signup_texts
    from newsletter.signup.mail import signup_templates
    from newsletter.web.pages import Pages, SignupForm, web_templates

    workspace = state(ctx).workspace()
    settings = workspace.settings
    if settings.signup is None:
        raise SettingsError(
            f"{settings.file}: there is no [signup] table, so there is no form",
            'add [signup] with lists = ["newsletter"] (the lists the public may sign up to)',
        )
    consent = signup_texts(signup_templates(workspace.templates_dir), settings.newsletter)
    pages = Pages.load(web_templates(workspace), settings.newsletter, signup=True)
    form = SignupForm(settings.signup.lists, consent["consent"])
    typer.echo(pages.signup_snippet(form), nl=False)


def register(app: typer.Typer) -> None:
    members_app.command()(show)
    app.command("signup-form")(signup_form)
