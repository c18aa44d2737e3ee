"""Who opened personal data through `POST /v1/events/unseal`: the access log and its stores."""

from customerhub_shared.accesslog.port import AccessLog, AccessPage, AccessRecord

__all__ = ["AccessLog", "AccessPage", "AccessRecord"]
