"""The desk: the staff's browser interface on 127.0.0.1 (``newsletter desk``).

A Starlette application over the same library functions the CLI calls: server-rendered
pages (Jinja templates and texts in this package), a guard that lets only the browser
holding the printed link drive it, and nothing loaded from outside the machine.
"""
