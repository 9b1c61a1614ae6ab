"""Delivery: the sending engine and its journal.

What the ``send`` command calls, in order (see each module for the details):

1. ``journal.prepare(db, issue, list_id, build_hash)``: freeze the issue, snapshot the
   list's members, recover what a crash left ``sending`` (they become uncertain);
2. ``password.smtp_password(smtp, prompt=...)``: the password, when [smtp] has a username;
3. ``sender.send_run(smtp, password, messages, journal.Journal(db, issue), progress=...)``
   with ``messages`` built lazily from ``journal.due(db, issue)``, one ``Outgoing`` each;
4. ``journal.status(db, issue)``: what the summary and ``status`` show.
"""
