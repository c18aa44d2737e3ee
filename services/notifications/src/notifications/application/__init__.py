"""Use cases: consuming events into deliveries, sending them, answering requests and the log."""
