"""The command line: parses arguments and turns library errors into one line each.

All behaviour lives in the library; nothing outside this package imports it.
"""

from newsletter.cli.app import app, main

__all__ = ["app", "main"]
