"""The preview page: the email at phone and desktop width, its plain text, subject,
preheader and render's warnings, or what broke the last build.

The page is in English, like the command line. It loads only its own script and
style sheet (``static/``); the script reloads it when the server has a new build.
"""

from __future__ import annotations

from html import escape

from newsletter.preview.content import PreviewContent
from newsletter.preview.live import Snapshot

# Phone (an iPhone's CSS width) and desktop; the email's own content is 600 px wide.
WIDTHS = ((375, "Phone"), (700, "Desktop"))


def page_html(slug: str, snapshot: Snapshot) -> str:
    content = snapshot.content
    title = content.subject if content else slug
    parts = [
        _header(slug, snapshot, content),
        _error(snapshot.error, has_email=content is not None) if snapshot.error else "",
        _body(content, snapshot.version) if content else "",
        f'<p id="stopped" role="status" hidden>The preview server has stopped. '
        f"Start it again with: newsletter preview {escape(slug)}</p>",
    ]
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Preview: {escape(title)}</title>"
        '<link rel="stylesheet" href="/static/preview.css">'
        '<script src="/static/preview.js" defer></script>'
        f'</head><body data-version="{snapshot.version}">\n'
        + "\n".join(p for p in parts if p)
        + "\n</body></html>\n"
    )


def _header(slug: str, snapshot: Snapshot, content: PreviewContent | None) -> str:
    built = snapshot.built_at.strftime("%H:%M:%S")
    rows = ""
    if content:
        preheader = escape(content.preheader) if content.preheader else "<em>none</em>"
        rows = (
            f'<dl><dt>Subject</dt><dd id="subject">{escape(content.subject)}</dd>'
            f'<dt>Preheader</dt><dd id="preheader">{preheader}</dd></dl>'
        )
    return (
        f'<header><p class="issue">Issue {escape(slug)} · built at {built} · '
        f"updates by itself when you save a change</p>{rows}</header>"
    )


def _error(error: str, has_email: bool) -> str:
    then = (
        "Below is the last version that worked. Fix the file and save: this page updates by itself."
        if has_email
        else "Fix the file and save: this page updates by itself."
    )
    return (
        '<section id="error" role="alert"><h2>The last change could not be rendered</h2>'
        f"<pre>{escape(error)}</pre><p>{then}</p></section>"
    )


def _body(content: PreviewContent, version: int) -> str:
    if content.warnings:
        items = "".join(f"<li>{escape(w)}</li>" for w in content.warnings)
        warnings = f"<ul>{items}</ul>"
    else:
        warnings = "<p>None.</p>"
    frames = "".join(
        f"<figure><figcaption>{label} · {width} px</figcaption>"
        f'<iframe class="email" id="email-{width}" title="The email at {width} px" '
        f'src="/email?v={version}" width="{width}" height="600" '
        # No allow-scripts: mail apps run none. Same origin so the page can size the frame.
        'sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"></iframe></figure>'
        for width, label in WIDTHS
    )
    return (
        f'<section id="warnings"><h2>Warnings</h2>{warnings}</section>'
        f'<section id="widths">{frames}</section>'
        f'<section id="text"><h2>Plain text</h2><pre>{escape(content.text)}</pre></section>'
    )
