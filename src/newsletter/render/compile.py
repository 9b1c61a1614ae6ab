"""MJML to HTML (mjml-python), then CSS inlined (premailer), keeping what email needs.

premailer is configured so that it keeps, verified by tests/test_render_compile.py:
the style tags with their ``!important`` (dark mode and phone layout live there), the
media queries, the doctype, MJML's image widths and other HTML attributes, and the
MSO conditional comments for Outlook. It never touches the network.
"""

from __future__ import annotations

import logging
from pathlib import Path

from newsletter.errors import TemplateError

# MJML's doctype is lower case; premailer keeps a doctype only when it matches lxml's
# spelling exactly, and drops it otherwise.
_MJML_DOCTYPE = "<!doctype html>"
_DOCTYPE = "<!DOCTYPE html>"
# premailer would rewrite these from the inlined CSS (an image's width="550" becoming
# width="100%" from its style); MJML has already set each of them as Outlook needs.
_KEEP_ATTRIBUTES = ["width", "height", "align", "valign", "bgcolor"]
# MJML's reset ("#outlook a", "table, td { border-collapse ...; mso-table-* }", img, p)
# belongs in the head, as MJML leaves it; inlined, it was copied into every table cell
# (150 bytes each, 11 KB of a five-post issue). premailer leaves a style tag marked so.
_MJML_RESET = '<style type="text/css">\n#outlook a'
_MJML_RESET_KEPT = '<style type="text/css" data-premailer="ignore">\n#outlook a'


def compile_mjml(mjml: str, origin: Path) -> str:
    import mjml as mrml

    try:
        # fonts={}: no web-font imports, whatever font-family a template names.
        html: str = mrml.mjml2html(mjml, disable_comments=True, fonts={})
    except ValueError as error:
        raise TemplateError(
            f"{origin}: MJML could not compile it: {error}",
            key="template_not_compiled",
            params={"file": origin, "problem": str(error)},
        ) from None
    return html


def inline_css(html: str) -> str:
    import cssutils
    import premailer

    # premailer validates every inline style against cssutils' CSS profiles even with
    # disable_validation, and building those profiles' patterns costs a fresh process
    # about 150 ms per render. Without profiles the output is the same (verified by the
    # golden files); validation only ever logged, and cssutils' log is silenced.
    cssutils.profile.removeProfile(all=True)

    if html.startswith(_MJML_DOCTYPE):
        html = _DOCTYPE + html[len(_MJML_DOCTYPE) :]
    html = html.replace(_MJML_RESET, _MJML_RESET_KEPT, 1)
    inliner = premailer.Premailer(
        html,
        allow_network=False,
        allow_loading_external_files=False,
        keep_style_tags=True,
        strip_important=False,
        disable_basic_attributes=_KEEP_ATTRIBUTES,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        # MJML never floats images; the float check parses every image style (slow).
        align_floating_images=False,
    )
    result: str = inliner.transform(pretty_print=False)
    return result
