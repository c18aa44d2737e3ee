"""Query handlers: they take their ports as arguments and answer plain JSON-ready values."""
