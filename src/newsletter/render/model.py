"""A rendered email: what the build holds and what every member's message is made of."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.render.placeholders import Greeting, Markers


@dataclass(frozen=True)
class RenderedEmail:
    """One issue's email, compiled once; ``html`` and ``text`` still hold the per-member
    ``markers`` this render chose (``placeholders.py``)."""

    subject: str
    html: str
    text: str
    greeting: Greeting
    markers: Markers
