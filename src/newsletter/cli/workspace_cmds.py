"""Commands about the workspace itself: init and demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from newsletter.cli.state import out


def init(
    directory: Annotated[
        Path, typer.Argument(help="Folder for the new workspace (created if missing).")
    ] = Path(),
) -> None:
    """Create a workspace: settings, default templates, issues/, posts/ and signing keys.

    Example: newsletter init kv-musterstadt
    """
    from newsletter.scaffold import create_workspace

    workspace = create_workspace(directory)
    out.print(f"Created a newsletter workspace in {workspace.root}", markup=False)
    out.print(
        f"Next: edit {workspace.settings_file.name} (name, addresses, sources, [smtp]), "
        "then run: newsletter gather",
        markup=False,
    )


def demo(
    ctx: typer.Context,
    keep: Annotated[
        Path | None,
        typer.Option(
            help="Put the demo's workspace and received mail in this (new or empty) folder."
        ),
    ] = None,
) -> None:
    """Run the whole pipeline on sample posts and members, sending only to a local server.

    Nothing leaves this machine: the messages go to an SMTP server on 127.0.0.1 that the
    demo starts and stops itself, and end up as .eml files you can open.

    Example: newsletter demo --keep demo-output
    """
    import tempfile

    from newsletter.bundled import SAMPLE_ISSUE
    from newsletter.demo import check_demo_folder, demo_commands, demo_workspace, desk_hint
    from newsletter.issue import BUILD_DIR
    from newsletter.mailsink import MailSink

    folder = keep if keep is not None else Path(tempfile.mkdtemp(prefix="newsletter-demo-"))
    check_demo_folder(folder)
    received = folder / "received"
    root_command = ctx.find_root().command
    with MailSink(received) as sink:
        out.print(f"Local SMTP server on {sink.host}:{sink.port} (nothing leaves this machine)")
        workspace = demo_workspace(folder / "workspace", sink.port)
        out.print(f"Sample workspace: {workspace.root}")
        for command in demo_commands(workspace):
            out.rule(f"newsletter {' '.join(command)}", align="left")
            # The real commands, in process: the demo shows exactly what staff will see.
            code = root_command.main(
                ["--workspace", str(workspace.root), *command],
                prog_name="newsletter",
                standalone_mode=False,
            )
            if code:
                raise typer.Exit(code)
        count = len(sink.received)
    out.rule("Done", align="left")
    out.print(f"Workspace:         {workspace.root}")
    build = workspace.issues_dir / SAMPLE_ISSUE / BUILD_DIR
    out.print(f"Rendered email:    {build / 'email.html'}")
    out.print(f"Preview message:   {build / 'preview.eml'} (open it in your mail program)")
    out.print(f"Received messages: {count} in {received}")
    out.print(desk_hint(workspace), markup=False)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(demo)
