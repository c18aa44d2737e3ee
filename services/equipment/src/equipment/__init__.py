"""equipment: the equipment registry and its assignment to customers (the equipment issue)."""
