"""Adapters of customer-query: reading customer streams from the event store."""
