"""The one exception root: everything a user can cause ends in a NewsletterError.

The CLI prints ``str(error)`` as one line and exits 1; anything else is a bug and
shows a traceback only with ``--verbose``. Every class is defined here, so a front end
can tell them apart without importing the layer that raises them.

Which errors stop a run: during a send, ``DeliveryError`` (and ``DatabaseError``) stop
it, and what is left stays due for the next run; ``MessageError`` stops only that
member's message, which the journal records as failed, and the run goes on. That is why
``MessageError`` is not a ``DeliveryError``: ``except DeliveryError`` means "the run
stops", and a bad address must never end it. Elsewhere (gather, render, members) any
NewsletterError ends the command before anything is half-written.
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


class TextFileTooLargeError(NewsletterError):
    """A file that should be a small text file is not."""


class SettingsError(NewsletterError):
    """newsletter.toml (or the secrets file) holds something we cannot use."""


class SourceError(NewsletterError):
    """A feed or post folder could not be read at all."""


class IssueError(NewsletterError):
    """An issue folder or its issue.md is missing, malformed or frozen."""


class StrictWarningsError(IssueError):
    """``strict`` turned render's warnings into a failure; nothing was written."""

    def __init__(self, warnings: tuple[object, ...]) -> None:
        count = len(warnings)
        super().__init__(
            f"{count} warning{'s' if count != 1 else ''} and --strict is on, so the previous "
            "build (if any) is left as it was",
            "fix what the warnings name, then render again",
        )
        self.warnings = warnings  # render's RenderWarning values, each printed with str()


class MemberError(NewsletterError):
    """A member operation or an import that cannot go ahead."""


class TokenError(MemberError):
    """An unsubscribe link that was not made by this workspace (tampered or cut short)."""


class DatabaseError(NewsletterError):
    """The database file cannot be opened, upgraded or written."""


class BrowserError(NewsletterError):
    """Chromium or Playwright is missing or would not start."""


class TemplateError(NewsletterError):
    """A template is missing or broken; the message names file and line."""


class DeliveryError(NewsletterError):
    """Sending cannot start or must stop (login refused, TLS failure, ...)."""


class WebError(NewsletterError):
    """The web side or sync with it failed."""


class MessageError(NewsletterError):
    """One member's message cannot be built (an address that is not one): that member
    fails, the run goes on."""


class DnsError(NewsletterError):
    """A lookup that got no answer at all (timeout, server failure): not "no record"."""


class BounceError(NewsletterError):
    """The bounce mailbox cannot be read (not found, login refused, connection lost)."""
