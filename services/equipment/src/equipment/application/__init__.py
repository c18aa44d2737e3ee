"""Equipment use cases: command handlers, queries and the ownership reconciler."""
