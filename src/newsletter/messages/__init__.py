"""Members' messages: one complete email per member, built from a rendered issue."""
