"""customerhub: the operator CLI and the embedded single-process composition of every service."""
