"""Members' messages: one complete email per member, built from a rendered issue.

What ``send`` calls (see each module for the details):

1. ``signing.load_signer(settings.dkim)`` when ``[dkim]`` is set: checks the key now;
2. ``template.build_template(render.build.load_build(issue_dir), settings.newsletter,
   issue=slug, list_name=..., unsubscribe_key=keys.unsubscribe, signer=...)``, once per
   run (``subject_prefix="[TEST] "`` for ``--test``);
3. ``stream.fill_all(template, deliveries, recipient, date=clock)`` gives each delivery's
   ``MemberMessage`` (``template.fill``, the DKIM signatures made in a worker beside the
   sending) whose ``envelope`` and ``message_id`` make ``deliver.sender.Outgoing``; a
   ``MessageError`` in a message's place fails that member only;
4. ``--dry-run``: ``dryrun.dry_run(template, members, date=now, folder=...)`` instead.
"""
