"""Bounces: reading the bounce mailbox, matching each mail to the message we sent, and
applying the policy (permanent → bounced, temporary → counted, complaint → unsubscribed).

``classify`` and ``clues`` are pure functions over ``email.message.Message``; ``verp``
makes and checks the per-message envelope sender; ``records`` holds the SQL;
``process`` applies the policy; ``mailboxes`` reads IMAP, Maildir and mbox.
"""
