"""A local identity provider for trying the production token path: it publishes a JWKS, mints
RS256 tokens with issuer, audience and Keycloak-style roles, and rotates its keys on request.

    uv run python examples/local_identity_provider.py --port 8900

    GET  /certs                            the JWKS (what CUSTOMERHUB_JWKS_URL points at)
    GET  /token?sub=alice&roles=admin      a token signed with the current key
    POST /keys/next                        publish a new key, not used for signing yet
    POST /keys/promote                     sign with the newest key; drop the older ones

For development only: keys live in memory and anyone who can reach the port gets a token.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class Keys:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.published: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.publish_next()
        self.signing = self.published[0]

    def publish_next(self) -> str:
        kid = f"key-{uuid.uuid4().hex[:8]}"
        with self._lock:
            self.published.append((kid, rsa.generate_private_key(65537, 2048)))
        return kid

    def promote(self) -> str:
        with self._lock:
            self.signing = self.published[-1]
            self.published = [self.signing]
        return self.signing[0]

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            published = list(self.published)
        return {
            "keys": [
                {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid}
                | {"use": "sig", "alg": "RS256"}
                for kid, key in published
            ]
        }


def handler_for(keys: Keys, issuer: str, audience: str) -> type[BaseHTTPRequestHandler]:
    class IdentityProvider(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            url = urlsplit(self.path)
            if url.path == "/certs":
                self._answer(200, keys.jwks())
            elif url.path == "/token":
                query = parse_qs(url.query)
                roles = ",".join(query.get("roles", ["user"])).split(",")
                self._answer(200, self._token(query.get("sub", ["alice"])[0], roles), raw=True)
            else:
                self._answer(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path == "/keys/next":
                self._answer(200, {"published": keys.publish_next()})
            elif self.path == "/keys/promote":
                self._answer(200, {"signing": keys.promote()})
            else:
                self._answer(404, {"error": "not found"})

        def _token(self, sub: str, roles: list[str]) -> str:
            kid, key = keys.signing
            now = int(time.time())
            claims = {
                "sub": sub,
                "iss": issuer,
                "aud": audience,
                "iat": now,
                "exp": now + 3600,
                "realm_access": {"roles": roles},
            }
            return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

        def _answer(self, status: int, body: Any, *, raw: bool = False) -> None:
            data = (body if raw else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if raw else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return IdentityProvider


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--audience", default="customerhub")
    args = parser.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), handler_for(Keys(), issuer, args.audience)
    )
    print(f"JWKS at {issuer}/certs, issuer {issuer}, audience {args.audience}", flush=True)  # noqa: T201
    server.serve_forever()


if __name__ == "__main__":
    main()
