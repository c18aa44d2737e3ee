"""The equipment domain: the Equipment aggregate, ownership rules and the equipment view."""
