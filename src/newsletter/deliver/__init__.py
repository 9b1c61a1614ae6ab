"""Delivery: the sending engine and its journal.

What the ``send`` command calls, in order (see each module for the details):

1. ``journal.prepare(db, issue, list_id, build_hash)``: snapshot the list's members (fixed
   from the list's first send on, unless ``include_new``), recover what a crash left
   ``sending`` (they become uncertain), refuse a build other than the one already sent;
2. ``password.smtp_password(smtp, prompt=...)``: the password, when [smtp] has a username;
3. ``sender.send_run(smtp, password, messages, journal.Journal(db, issue, on_sent=...),
   progress=...)`` with ``messages`` built lazily from ``journal.due(db, issue, list_id)``,
   one ``Outgoing`` each; the issue counts as sent (``on_sent`` writes its mark) from the
   first message the relay takes, not before;
4. ``journal.status(db, issue)``: what the summary and ``status`` show.
"""
