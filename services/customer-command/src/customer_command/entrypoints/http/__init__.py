"""The HTTP API of customer-command under /v1."""
