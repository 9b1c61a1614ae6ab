"""Render an issue into the email members get: HTML with inlined CSS and plain text.

The pipeline runs once per issue (templates → our MJML check → mjml-python →
premailer); per-member fields stay as placeholders (``placeholders.py``) that the
Messages stage fills cheaply. ``build.py`` writes ``issues/<slug>/build/``.
"""
