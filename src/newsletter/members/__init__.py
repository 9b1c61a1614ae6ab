"""Members: lists, subscriptions with their legal basis, suppressions, imports and tokens.

What other stages use:
- ``tokens.sign_token`` / ``tokens.verify_token`` (raises ``errors.TokenError``),
- ``manage.recipients(db, list_name)``: who receives an issue, lazily,
- ``manage.unsubscribe_subscription`` / ``manage.unsubscribe_everywhere``: the web side,
- ``store.open_database(workspace.database_path)`` for the ``db`` they all take.
"""
