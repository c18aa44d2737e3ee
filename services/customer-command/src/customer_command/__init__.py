"""customer-command: validates customer commands and appends customer events."""
