"""The web side: what members click (one-click unsubscribe, the archive) and the sync
that brings its events to the office when it runs on another machine.

Importing this package loads nothing heavy; Starlette and uvicorn are imported by the
modules that serve.
"""
