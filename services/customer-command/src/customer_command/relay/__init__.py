"""customer-command's outbox publisher: the event log, relayed to Kafka as CloudEvents."""
