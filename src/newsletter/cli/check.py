"""``newsletter check``: would mail from this workspace arrive? (deliverability.py)"""

from __future__ import annotations

import typer

from newsletter.cli.state import out, state

_MARK = {"ok": "ok     ", "warning": "warning", "fail": "FAIL   "}
_STYLE = {"ok": "green", "warning": "yellow", "fail": "red"}


def check(ctx: typer.Context) -> None:
    """Check the settings, log in to the SMTP server (nothing is sent) and look up the
    From domain's SPF, DKIM and DMARC records. Exits 1 when something would make mail fail.

    Example: newsletter check
    """
    from newsletter.cli.send import _password
    from newsletter.deliverability import DnsPython, run_check

    settings = state(ctx).workspace().settings
    smtp = settings.smtp
    report = run_check(settings, lambda: _password(smtp) if smtp is not None else None, DnsPython())
    for finding in report.findings:
        verdict = finding.verdict.value
        out.print(
            f"{_MARK[verdict]}  {finding.topic}: {finding.message}",
            style=_STYLE[verdict],
            markup=False,
            highlight=False,
        )
        if finding.fix and verdict != "ok":
            out.print(f"         fix: {finding.fix}", markup=False, highlight=False)
    failed = sum(1 for f in report.findings if f.verdict.value == "fail")
    warned = sum(1 for f in report.findings if f.verdict.value == "warning")
    out.print(
        f"{failed} problem{'s that make' if failed != 1 else ' that makes'} mail fail, "
        f"{warned} warning{'s' if warned != 1 else ''}",
        markup=False,
    )
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(check)
