"""equipment: the equipment registry and its assignment to customers. Built by the equipment issue."""
