"""``newsletter render --screenshots``: PNGs of the rendered email, and what they say."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.cli.state import notice, out

if TYPE_CHECKING:
    from newsletter.render.model import RenderedEmail

# Enough to recognise what was refused without flooding the terminal.
_SHOWN_URLS = 3


def save_screenshots(email: RenderedEmail, build_dir: Path, unsubscribe_key: bytes) -> None:
    """PNGs of the email at 375 and 700 px and in dark mode, as the sample member gets it."""
    from newsletter.preview.content import sample_member_fields
    from newsletter.preview.screenshots import take_screenshots

    html = email.markers.fill_html(email.html, sample_member_fields(email, unsubscribe_key))
    shots = take_screenshots(html, build_dir)
    out.print("Screenshots:", markup=False)
    for path in shots.files:
        out.print(f"  {path}", markup=False)
    if shots.blocked:
        count = len(shots.blocked)
        more = f" and {count - _SHOWN_URLS} more" if count > _SHOWN_URLS else ""
        notice(
            f"The screenshots show {count} missing resource{'s' if count != 1 else ''}: "
            "nothing is loaded from other machines while taking them "
            f"({', '.join(shots.blocked[:_SHOWN_URLS])}{more})"
        )
