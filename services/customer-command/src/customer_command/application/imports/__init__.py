"""Importing an existing customer list (CSV or XLSX) through the same commands as the API."""
