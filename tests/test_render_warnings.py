"""The warnings render prints: each one triggered, and silent for a clean email."""

from __future__ import annotations

from newsletter.render.checks import (
    CLIP_WARNING_BYTES,
    GMAIL_CLIP_BYTES,
    Origins,
    RenderWarning,
    WarningKind,
    check_email,
    encoded_size,
)

HOSTS = frozenset({"www.example.org", "newsletter.example.org"})
CLEAN = (
    "<!DOCTYPE html><html><head><style>.a { color: red !important; }</style></head><body>"
    '<img src="https://www.example.org/a.jpg" alt="Ein Bild" width="250">'
    '<a href="https://www.example.org/x">x</a> <a href="mailto:kv@example.org">m</a>'
    '<div style="background:url(https://newsletter.example.org/bg.png)"></div>'
    "</body></html>"
)


def kinds(warnings: tuple[RenderWarning, ...]) -> list[WarningKind]:
    return [warning.kind for warning in warnings]


def check(
    html: str = CLEAN, subject: str = "Newsletter November", preheader: str = "Neues"
) -> tuple[RenderWarning, ...]:
    return check_email(html, subject, preheader, Origins(HOSTS))


def test_clean_email_has_no_warnings() -> None:
    assert check() == ()


def test_image_without_alt_or_width() -> None:
    warnings = check(CLEAN.replace(' alt="Ein Bild" width="250"', ""))
    assert kinds(warnings) == [WarningKind.IMAGE_ALT, WarningKind.IMAGE_WIDTH]
    assert "https://www.example.org/a.jpg" in str(warnings[0])


def test_empty_alt_counts_as_missing() -> None:
    assert kinds(check(CLEAN.replace('alt="Ein Bild"', 'alt=" "'))) == [WarningKind.IMAGE_ALT]


def test_http_and_relative_links_are_not_https() -> None:
    html = CLEAN.replace("https://www.example.org/x", "http://www.example.org/x")
    html = html.replace("</body>", '<a href="/relativ">r</a></body>')
    warnings = check(html)
    # One problem at one place: one warning naming both addresses.
    assert kinds(warnings) == [WarningKind.INSECURE_LINK]
    assert str(warnings[0]) == (
        "the templates: a link is not a full https:// address (http://www.example.org/x, "
        "/relativ); change it to https:// in the templates"
    )
    (only_http,) = check(CLEAN.replace("https://www.example.org/x", "http://www.example.org/x"))
    assert only_http.problem == "a link is http://, not https:// (http://www.example.org/x)"


def test_links_to_other_sites_are_fine_but_loading_from_them_is_not() -> None:
    html = CLEAN.replace("https://www.example.org/x", "https://other.example.com/")
    assert check(html) == ()
    html = CLEAN.replace("https://www.example.org/a.jpg", "https://tracker.example.com/p.gif")
    warnings = check(html)
    assert kinds(warnings) == [WarningKind.THIRD_PARTY]
    assert "tracker.example.com" in str(warnings[0])


def test_third_party_css_url_font_and_stylesheet() -> None:
    html = CLEAN.replace(
        ".a { color",
        "@import 'https://fonts.example.com/css'; "
        "@font-face { src: url('https://fonts.example.com/f.woff2'); } .a { color",
    ).replace("</head>", '<link rel="stylesheet" href="https://cdn.example.com/s.css"></head>')
    html = html.replace("newsletter.example.org/bg.png", "img.example.com/bg.png")
    (warning,) = check(html)
    assert warning.kind is WarningKind.THIRD_PARTY
    hosts = warning.problem.split(" from ")[1].split(", a third-party")[0]
    assert sorted(hosts.split(", ")) == ["cdn.example.com", "fonts.example.com", "img.example.com"]
    assert "(it learns who opens the email)" in warning.problem


def test_subject_empty_or_too_long() -> None:
    assert kinds(check(subject="  ")) == [WarningKind.SUBJECT]
    assert kinds(check(subject="x" * 78)) == []
    warnings = check(subject="x" * 79)
    assert kinds(warnings) == [WarningKind.SUBJECT]
    assert "79 characters" in str(warnings[0])


def test_missing_preheader() -> None:
    assert kinds(check(preheader="")) == [WarningKind.PREHEADER]


def test_html_near_gmails_clip_is_warned_about_as_encoded() -> None:
    # 16 KB of "ä": 32 KB in UTF-8, 96 KB quoted-printable, as the message carries it.
    padding = "<p>" + "ä" * (16 * 1024) + "</p>"
    html = CLEAN.replace("</body>", padding + "</body>")
    assert len(html.encode()) < CLIP_WARNING_BYTES < encoded_size(html)
    warnings = check(html)
    assert kinds(warnings) == [WarningKind.SIZE]
    assert "Gmail clips" in str(warnings[0]) and "as sent" in str(warnings[0])


def test_the_clip_warning_starts_at_90_kb_encoded() -> None:
    def of_size(size: int) -> str:
        # Quoted-printable adds "=", CR and LF after each 75 characters of a long line.
        filler = "a" * ((size - encoded_size(CLEAN)) * 75 // 78)
        return CLEAN.replace("</body>", f"<p>{filler}</p></body>")

    below, above = of_size(CLIP_WARNING_BYTES - 500), of_size(CLIP_WARNING_BYTES + 500)
    assert encoded_size(below) <= CLIP_WARNING_BYTES < encoded_size(above) < GMAIL_CLIP_BYTES
    assert kinds(check(below)) == []
    assert kinds(check(above)) == [WarningKind.SIZE]


def test_single_quoted_attributes_are_read_too() -> None:
    html = CLEAN.replace(
        "</body>", "<img src='https://pixel.example.com/p.gif' alt='' width='1'></body>"
    )
    assert kinds(check(html)) == [WarningKind.IMAGE_ALT, WarningKind.THIRD_PARTY]
