"""AWS Signature Version 4 for S3 requests (header-signed, payload hashed), no SDK needed."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"
    service: str = "s3"


def canonical_uri(path: str) -> str:
    """S3 encodes each path segment once (RFC 3986 unreserved characters stay as they are)."""
    return quote(path, safe="/-_.~")


def sign(
    credentials: Credentials,
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_sha256: str,
    at: datetime,
) -> dict[str, str]:
    """The headers to send: the given ones (which must include `host`), x-amz-date,
    x-amz-content-sha256 and Authorization."""
    amz_date = at.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{at:%Y%m%d}/{credentials.region}/{credentials.service}/aws4_request"
    signed = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    signed["x-amz-date"] = amz_date
    signed["x-amz-content-sha256"] = payload_sha256
    names = sorted(signed)
    canonical_request = "\n".join(
        [
            method,
            canonical_uri(path),
            "&".join(
                f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
            ),
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    signature = hmac.new(
        _signing_key(credentials, at), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return {**dict(headers), **signed, "authorization": authorization}


def _signing_key(credentials: Credentials, at: datetime) -> bytes:
    key = ("AWS4" + credentials.secret_access_key).encode()
    for part in (f"{at:%Y%m%d}", credentials.region, credentials.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
