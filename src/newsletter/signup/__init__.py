"""The public sign-up (double opt-in) and members' self-service: requests, their
confirmation links, the consent record they leave, and the mails that ask for it."""
