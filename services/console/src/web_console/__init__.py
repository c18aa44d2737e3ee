"""The web console: server-rendered screens over the public HTTP API, holding no state."""
