"""The HTTP routes of customer-query under /v1/customers."""
