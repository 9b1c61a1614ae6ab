"""The root command: global options, the single error path, and the stage commands."""

from __future__ import annotations

import inspect
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from newsletter import __version__
from newsletter.cli import bounces as bounces_cmd
from newsletter.cli import check as check_cmd
from newsletter.cli import desk as desk_cmd
from newsletter.cli import gather as gather_cmd
from newsletter.cli import members as members_cmd
from newsletter.cli import preview as preview_cmd
from newsletter.cli import render as render_cmd
from newsletter.cli import send as send_cmd
from newsletter.cli import signup as signup_cmd
from newsletter.cli import web as web_cmd
from newsletter.cli import workspace_cmds
from newsletter.cli.state import error_line, out, state
from newsletter.errors import NewsletterError


class NewsletterGroup(TyperGroup):
    """Every command runs through here, so every command fails the same way, and every
    command list in --help shows whole summaries."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Typer builds the tree bottom-up: the root group is made last, with every
        # command and subgroup already in place.
        _summarise(self)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NewsletterError as error:
            error_line(str(error))
            raise typer.Exit(1) from None
        except Exception as error:
            if _is_click_control_flow(error):
                raise
            if state(ctx).verbose:
                traceback.print_exc()
            error_line(
                f"unexpected {type(error).__name__}: {error}. This is a bug in newsletter; "
                "run the command again with --verbose and report the output"
            )
            raise typer.Exit(1) from None


def _summarise(command: Any) -> None:
    """Give every command below ``command`` its help's whole first paragraph as the
    summary that command lists show. Click would cut it at about 45 characters or at
    its first ". " ("forget  Erase a person (GDPR Art.")."""
    for child in getattr(command, "commands", {}).values():
        if child.short_help is None and child.help:
            first = inspect.cleandoc(child.help).split("\n\n")[0]
            child.short_help = " ".join(first.split())
        _summarise(child)


def _is_click_control_flow(error: Exception) -> bool:
    # Exit, Abort and usage errors are how Click ends a command on purpose.
    module = type(error).__module__
    return module.startswith(("typer", "click"))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"newsletter {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=NewsletterGroup,
    name="newsletter",
    help=(
        "Turn the posts on your website into an email newsletter and send it to your members.\n\n"
        "Example: newsletter gather, then newsletter render 2026-11, then newsletter send 2026-11"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Use this workspace instead of the nearest newsletter.toml upward.",
            envvar="NEWSLETTER_WORKSPACE",
            file_okay=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show details, and tracebacks of bugs.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    current = state(ctx)
    current.workspace_option = workspace
    current.verbose = verbose


def docs() -> None:
    """Show where this installation's guides are: the folder, then each guide's title.

    Help texts and messages name a guide by its file name (web-setup.md); it is in this
    folder, which comes with every installation. Open it in an editor or a Markdown viewer.

    Example: newsletter docs
    """
    from newsletter.bundled import docs_folder
    from newsletter.textfile import read_text

    folder = docs_folder()
    out.print(str(folder), markup=False)
    guides = sorted(folder.glob("*.md"))
    width = max((len(guide.name) for guide in guides), default=0)
    for guide in guides:
        title = next(
            (line.lstrip("# ").strip() for line in read_text(guide).splitlines() if line.strip()),
            "",
        )
        out.print(f"  {guide.name:<{width}}  {title}", markup=False)


workspace_cmds.register(app)
members_cmd.register(app)
gather_cmd.register(app)
render_cmd.register(app)
send_cmd.register(app)
check_cmd.register(app)
preview_cmd.register(app)
web_cmd.register(app)
desk_cmd.register(app)
signup_cmd.register(app)
bounces_cmd.register(app)
app.command()(docs)


def main() -> None:
    app()
