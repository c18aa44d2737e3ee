"""Entrypoints: the HTTP routes, the event-log follower, the command line."""
