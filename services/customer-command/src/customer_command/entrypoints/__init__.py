"""Entrypoints of customer-command: its HTTP API."""
