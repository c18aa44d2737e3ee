"""equipment: the equipment registry, items assigned to customers, and their ownership history."""
