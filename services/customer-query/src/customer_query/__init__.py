"""customer-query: the customers read model and the HTTP queries answered from it."""
