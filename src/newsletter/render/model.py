"""A rendered email: what the build holds and what every member's message is made of."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.render.placeholders import Greeting


@dataclass(frozen=True)
class RenderedEmail:
    """One issue's email, compiled once; ``html`` and ``text`` still hold the per-member
    placeholders of ``placeholders.py``."""

    subject: str
    html: str
    text: str
    greeting: Greeting
