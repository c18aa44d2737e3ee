"""Tokens with made-up kids against a hanging key server, while valid tokens keep coming.

A local JWKS server publishes one RS256 key, then stops answering (it holds each fetch open).
The bench sends --storm tokens with random kids at once and, meanwhile, --valid tokens signed
with the published key one after another, to an app using the production verifier (in-process
ASGI), and prints the answers' statuses and latencies and how many fetches reached the server.

    uv run python bench/jwks_storm.py [--storm 500] [--valid 200] [--cooldown 1] [--timeout 5]

Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
from _stats import machine_line, percentile
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from customerhub_shared.http.auth import CurrentUser, TokenVerifier
from customerhub_shared.http.problems import install_problem_handlers
from customerhub_shared.settings import Settings

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class KeyServer:
    def __init__(self) -> None:
        self.hanging, self.fetches, self.release = False, 0, threading.Event()
        jwk = RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
        jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]}).encode()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                server.fetches += 1
                if server.hanging:
                    server.release.wait(120)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(jwks)))
                self.end_headers()
                self.wfile.write(jwks)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/certs"


def bearer(kid: str) -> dict[str, str]:
    claims = {"sub": "bench", "roles": ["user"], "exp": int(time.time()) + 600}
    token = jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": kid})
    return {"Authorization": f"Bearer {token}"}


async def run(args: argparse.Namespace) -> None:
    keys = KeyServer()
    settings = Settings(
        jwks_url=keys.url,
        jwks_refresh_cooldown_seconds=args.cooldown,
        jwks_fetch_timeout_seconds=args.timeout,
        log_level="ERROR",
    )
    app = FastAPI()
    install_problem_handlers(app)
    app.state.token_verifier = TokenVerifier.from_settings(settings)

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, str]:
        return {"sub": user.sub}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def timed(headers: dict[str, str]) -> tuple[int, float]:
            started = time.monotonic()
            status = (await client.get("/me", headers=headers)).status_code
            return status, time.monotonic() - started

        assert (await timed(bearer("k1")))[0] == 200
        keys.hanging = True
        await asyncio.sleep(args.cooldown)  # the storm may start a fetch, which will hang
        fetches_before = keys.fetches
        storm = [asyncio.create_task(timed(bearer(str(uuid.uuid4())))) for _ in range(args.storm)]
        valid = [await timed(bearer("k1")) for _ in range(args.valid)]
        stormed = await asyncio.gather(*storm)
    keys.release.set()
    print(machine_line())  # noqa: T201
    report("random kids", stormed)
    report("valid tokens", valid)
    print(f"fetches during the storm: {keys.fetches - fetches_before}")  # noqa: T201


def report(name: str, answers: list[tuple[int, float]]) -> None:
    statuses = sorted({status for status, _ in answers})
    seconds = sorted(elapsed for _, elapsed in answers)
    print(  # noqa: T201
        f"{name}: {len(answers)} answers {statuses}, p50 {percentile(seconds, 50) * 1000:.1f} ms,"
        f" p99 {percentile(seconds, 99) * 1000:.1f} ms, max {seconds[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storm", type=int, default=500)
    parser.add_argument("--valid", type=int, default=200)
    parser.add_argument("--cooldown", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=5.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
