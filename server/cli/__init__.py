"""The ``videodesk`` command: serve the desk, issue and revoke tokens, reports, bots."""
