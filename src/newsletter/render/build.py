"""``issues/<slug>/build/`` as send reads it: the rendered email, its plain text and manifest.

``newsletter.rendering.build_issue`` writes it, with a preview message beside them.

``preview.eml`` is what a member would get, addressed to a made-up sample member: no
real member's data ever lands in ``build/``. ``email.json`` keeps what the Messages
stage needs beside the HTML and text (the subject, the greeting's wording and the
per-member markers this render chose), so a build is complete on its own and a resumed
send uses exactly what was rendered.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from newsletter.errors import IssueError
from newsletter.issue import BUILD_DIR, ISSUE_FILE
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import LEGACY_MARKERS, Greeting, Markers
from newsletter.settings import NewsletterSettings
from newsletter.workspace import Workspace

HTML_FILE = "email.html"
TEXT_FILE = "email.txt"
PREVIEW_FILE = "preview.eml"
MANIFEST_FILE = "email.json"
_MARKER = re.compile(r"[a-z0-9]{32,}")


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
            key="build_missing",
            params={"slug": issue_dir.name},
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise IssueError(
            f"{folder / MANIFEST_FILE}: damaged ({error})",
            f'run "newsletter render {issue_dir.name}" again',
            key="build_damaged",
            params={"slug": issue_dir.name},
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


# newsletter.toml's names where they differ from NewsletterSettings' fields.
_TOML_KEYS = {"sender": "from"}
# Where the web side runs, the envelope sender and which list a send goes to: read when
# sending, never part of the email, so changing them needs no new render.
_NOT_IN_THE_EMAIL = frozenset({"web_remote", "envelope_from", "default_list"})


def settings_snapshot(settings: NewsletterSettings) -> dict[str, str]:
    """The [newsletter] settings as a render used them, by their names in newsletter.toml.

    Templates see all of them (as ``newsletter``), and the email carries some for good:
    ``web_url`` is in every member's unsubscribe link, ``name`` and ``postal_address`` in
    the footer. A render keeps them in its manifest, so a send can tell that they changed.
    """
    return {
        _TOML_KEYS.get(item.name, item.name): str(getattr(settings, item.name))
        for item in dataclasses.fields(settings)
        if item.name not in _NOT_IN_THE_EMAIL
    }


def check_build_current(workspace: Workspace, issue_dir: Path) -> None:
    """Refuse a build that is older than its issue.md or any template, or than a change
    of [newsletter] in newsletter.toml (render again), and one with the fixed markers of
    old versions, which content could write too."""
    if load_build(issue_dir).markers == LEGACY_MARKERS:  # a missing or damaged one says so
        raise IssueError(
            f"the build of {issue_dir.name} was made by an older version of newsletter, "
            "whose per-member fields a feed could fill into its own links",
            f"render again: newsletter render {issue_dir.name}",
            key="build_old_version",
            params={"slug": issue_dir.name},
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
            key="build_stale",
            params={"slug": issue_dir.name, "changed": changed.as_posix()},
        )
    rendered = _rendered_settings(issue_dir)
    current = settings_snapshot(workspace.settings.newsletter)
    # Builds from before the snapshot (and keys a later version added) are not compared.
    keys = [key for key, value in current.items() if rendered.get(key, value) != value]
    if keys:
        names = ", ".join(keys)
        raise IssueError(
            f"the build of {issue_dir.name} was rendered before {names} in [newsletter] of "
            "newsletter.toml changed",
            f"render again, so the email shows the new settings: newsletter render {issue_dir.name}",
            key="build_settings_changed",
            params={"slug": issue_dir.name, "keys": names},
        )


def _rendered_settings(issue_dir: Path) -> dict[str, str]:
    manifest = json.loads((issue_dir / BUILD_DIR / MANIFEST_FILE).read_text(encoding="utf-8"))
    settings = manifest.get("settings") if isinstance(manifest, dict) else None
    if not isinstance(settings, dict):
        return {}
    return {str(key): str(value) for key, value in settings.items()}
