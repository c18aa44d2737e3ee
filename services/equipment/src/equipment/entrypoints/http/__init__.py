"""The equipment service's HTTP routes."""
