"""Per-customer encryption keys for personal data (crypto-shredding) and their stores."""

from customerhub_shared.keyring.port import KeyDestroyed, KeyRing

__all__ = ["KeyDestroyed", "KeyRing"]
