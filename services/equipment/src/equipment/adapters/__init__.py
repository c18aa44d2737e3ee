"""Where equipment meets storage: item streams in the event store."""
