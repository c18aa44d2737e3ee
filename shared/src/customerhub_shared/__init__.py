"""customerhub_shared: event contracts, event-store port and adapters, settings, logging, auth."""
