"""customer-query: read models of customers. Built by the read-side issue."""
