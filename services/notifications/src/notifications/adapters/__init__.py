"""Adapters: the delivery log over the read store, the channels (SMTP, Twilio, outbox files),
and the template files."""
