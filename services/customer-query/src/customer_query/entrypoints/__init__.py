"""How customer-query is reached: its HTTP routes."""
