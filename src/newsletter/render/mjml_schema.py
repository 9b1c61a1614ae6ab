"""The MJML 4 tags and the attributes each accepts, as mjml-python really outputs them.

mjml-python copies unknown tags into the email and drops unknown attributes without a
word; this table lets us name the mistake instead. It follows mjml-python (1.4), not
mjml.io's documentation where the two differ: mj-button and mj-navbar-link drop
``title`` (tests/test_render_mjml_check.py compiles them to keep this table honest).
"""

from __future__ import annotations

_PADDING = frozenset({"padding", "padding-top", "padding-right", "padding-bottom", "padding-left"})
_BORDERS = frozenset({"border", "border-top", "border-right", "border-bottom", "border-left"})
_FONT = frozenset(
    {"font-family", "font-size", "font-style", "font-weight", "line-height", "letter-spacing"}
)
_TEXT = _FONT | {"color", "text-decoration", "text-transform", "align"}
_LINK = frozenset({"href", "rel", "target", "title", "name"})
# mjml-python writes no title attribute for these.
_LINK_WITHOUT_TITLE = _LINK - {"title"}
# Every body component takes these; mj-class applies a class defined in mj-attributes.
_COMMON = frozenset({"css-class", "mj-class"})
_BACKGROUND = frozenset(
    {
        "background-color",
        "background-url",
        "background-repeat",
        "background-size",
        "background-position",
        "background-position-x",
        "background-position-y",
    }
)
_SECTION = (
    _COMMON
    | _PADDING
    | _BORDERS
    | _BACKGROUND
    | {"border-radius", "direction", "full-width", "text-align", "text-padding"}
)
_ELEMENT = _COMMON | _PADDING | {"container-background-color"}
_ACCORDION_ICONS = frozenset(
    {
        "icon-align",
        "icon-height",
        "icon-position",
        "icon-unwrapped-alt",
        "icon-unwrapped-url",
        "icon-width",
        "icon-wrapped-alt",
        "icon-wrapped-url",
    }
)

ATTRIBUTES: dict[str, frozenset[str]] = {
    "mjml": frozenset({"lang", "dir", "owa"}),
    "mj-head": frozenset(),
    "mj-body": frozenset({"width", "background-color", "css-class"}),
    "mj-attributes": frozenset(),
    # Only inside mj-attributes, where they take any attribute (see mjml_check).
    "mj-all": frozenset(),
    "mj-class": frozenset({"name"}),
    "mj-breakpoint": frozenset({"width"}),
    "mj-font": frozenset({"name", "href"}),
    "mj-html-attributes": frozenset(),
    "mj-html-attribute": frozenset({"name"}),
    "mj-selector": frozenset({"path"}),
    "mj-preview": frozenset(),
    "mj-style": frozenset({"inline"}),
    "mj-title": frozenset(),
    "mj-include": frozenset({"path", "type", "css-inline"}),
    "mj-raw": frozenset({"position", "css-class"}),
    "mj-wrapper": _SECTION | {"gap"},
    "mj-section": _SECTION,
    "mj-group": _COMMON | {"width", "vertical-align", "background-color", "direction"},
    "mj-column": _COMMON
    | _PADDING
    | _BORDERS
    | {
        "background-color",
        "inner-background-color",
        "border-radius",
        "inner-border",
        "inner-border-top",
        "inner-border-right",
        "inner-border-bottom",
        "inner-border-left",
        "inner-border-radius",
        "width",
        "vertical-align",
        "direction",
    },
    "mj-text": _ELEMENT | _TEXT | {"height", "vertical-align"},
    "mj-image": _ELEMENT
    | _LINK
    | _BORDERS
    | {
        "align",
        "alt",
        "border-radius",
        "fluid-on-mobile",
        "full-width",
        "height",
        "max-height",
        "font-size",
        "sizes",
        "src",
        "srcset",
        "usemap",
        "width",
    },
    "mj-button": _ELEMENT
    | _TEXT
    | _LINK_WITHOUT_TITLE
    | _BORDERS
    | {
        "background-color",
        "border-radius",
        "height",
        "inner-padding",
        "text-align",
        "vertical-align",
        "width",
    },
    "mj-divider": _ELEMENT | {"align", "border-color", "border-style", "border-width", "width"},
    "mj-spacer": _ELEMENT | {"height"},
    "mj-table": _ELEMENT
    | _FONT
    | {"align", "border", "cellpadding", "cellspacing", "color", "role", "table-layout", "width"},
    "mj-hero": _COMMON
    | _PADDING
    | {
        "background-color",
        "background-height",
        "background-position",
        "background-url",
        "background-width",
        "border-radius",
        "container-background-color",
        "height",
        "inner-background-color",
        "inner-padding",
        "inner-padding-top",
        "inner-padding-right",
        "inner-padding-bottom",
        "inner-padding-left",
        "mode",
        "vertical-align",
        "width",
    },
    "mj-social": _ELEMENT
    | _FONT
    | {
        "align",
        "border-radius",
        "color",
        "icon-height",
        "icon-size",
        "icon-padding",
        "inner-padding",
        "mode",
        "text-decoration",
        "text-padding",
    },
    "mj-social-element": _COMMON
    | _PADDING
    | _FONT
    | _LINK
    | {
        "align",
        "alt",
        "background-color",
        "border-radius",
        "color",
        "icon-height",
        "icon-size",
        "icon-padding",
        "icon-position",
        "sizes",
        "src",
        "srcset",
        "text-decoration",
        "text-padding",
        "vertical-align",
    },
    "mj-navbar": _COMMON
    | {
        "align",
        "base-url",
        "hamburger",
        "ico-align",
        "ico-close",
        "ico-color",
        "ico-font-family",
        "ico-font-size",
        "ico-line-height",
        "ico-open",
        "ico-padding",
        "ico-padding-top",
        "ico-padding-right",
        "ico-padding-bottom",
        "ico-padding-left",
        "ico-text-decoration",
        "ico-text-transform",
        "padding",
        "padding-top",
        "padding-right",
        "padding-bottom",
        "padding-left",
    },
    "mj-navbar-link": _COMMON | _PADDING | _TEXT | _LINK_WITHOUT_TITLE,
    "mj-accordion": _ELEMENT | _BORDERS | _ACCORDION_ICONS | {"font-family"},
    "mj-accordion-element": _COMMON
    | _BORDERS
    | _ACCORDION_ICONS
    | {"background-color", "font-family"},
    "mj-accordion-title": _COMMON | _PADDING | _FONT | {"background-color", "color"},
    "mj-accordion-text": _COMMON | _PADDING | _FONT | {"background-color", "color"},
    "mj-carousel": _COMMON
    | {
        "align",
        "border-radius",
        "container-background-color",
        "icon-width",
        "left-icon",
        "right-icon",
        "thumbnails",
        "tb-border",
        "tb-border-radius",
        "tb-hover-border-color",
        "tb-selected-border-color",
        "tb-width",
    },
    "mj-carousel-image": _COMMON | _LINK | {"alt", "border-radius", "src", "tb-src"},
}

# Their content is HTML that MJML copies as it is; only nested mj- tags are checked.
HTML_CONTENT = frozenset(
    {
        "mj-text",
        "mj-button",
        "mj-table",
        "mj-raw",
        "mj-navbar-link",
        "mj-social-element",
        "mj-accordion-title",
        "mj-accordion-text",
        "mj-style",
        "mj-title",
        "mj-preview",
        "mj-html-attribute",
    }
)

# Attributes mjml.io documents but mjml-python does not write into the email: named as
# such, since templates made by earlier versions of newsletter had them.
DROPPED: dict[str, frozenset[str]] = {
    "mj-button": frozenset({"title"}),
    "mj-navbar-link": frozenset({"title"}),
}

# Any attribute some tag accepts: what mj-all and mj-class may set.
ANY_ATTRIBUTE = frozenset().union(*ATTRIBUTES.values())
