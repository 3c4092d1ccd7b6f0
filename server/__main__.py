"""``python -m server`` is the same as the ``videodesk`` command."""

from server.cli.main import main

raise SystemExit(main())
