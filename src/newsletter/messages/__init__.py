"""Members' messages: one complete email per member, built from a rendered issue.

What ``send`` calls (see each module for the details):

1. ``signing.load_signer(settings.dkim)`` when ``[dkim]`` is set: checks the key now;
2. ``template.build_template(render.build.load_build(issue_dir), settings.newsletter,
   issue=slug, list_name=..., unsubscribe_key=keys.unsubscribe, signer=...)``, once per
   run (``subject_prefix="[TEST] "`` for ``--test``);
3. per delivery, ``template.fill(delivery.recipient, date=now)`` gives a ``MemberMessage``
   whose ``envelope`` and ``message_id`` make ``deliver.sender.Outgoing``; a
   ``MessageError`` fails that member only;
4. ``--dry-run``: ``dryrun.dry_run(template, members, date=now, folder=...)`` instead.
"""
