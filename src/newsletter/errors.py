"""The one exception root: everything a user can cause ends in a NewsletterError.

The CLI prints ``str(error)`` as one line and exits 1; anything else is a bug and
shows a traceback only with ``--verbose``.
"""

from __future__ import annotations


class NewsletterError(Exception):
    """An expected failure: a wrong setting, a missing file, a refused login, ..."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        # Users read this as one line: what is wrong, then how to fix it.
        return f"{self.message}; {self.hint}" if self.hint else self.message


class WorkspaceError(NewsletterError):
    """No workspace where one was expected, or one where none may be."""


class SettingsError(NewsletterError):
    """newsletter.toml (or the secrets file) holds something we cannot use."""


class SourceError(NewsletterError):
    """A feed or post folder could not be read at all."""


class IssueError(NewsletterError):
    """An issue folder or its issue.md is missing, malformed or frozen."""


class MemberError(NewsletterError):
    """A member operation or an import that cannot go ahead."""


class TemplateError(NewsletterError):
    """A template is missing or broken; the message names file and line."""


class DeliveryError(NewsletterError):
    """Sending cannot start or must stop (login refused, TLS failure, ...)."""


class WebError(NewsletterError):
    """The web side or sync with it failed."""


class MessageError(DeliveryError):
    """One member's message cannot be built (an address that is not one): that member
    fails, the run goes on."""
