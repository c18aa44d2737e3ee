"""`python -m notifications`: the notification service on its own (see entrypoints/cli.py)."""

from notifications.entrypoints.cli import main

raise SystemExit(main())
