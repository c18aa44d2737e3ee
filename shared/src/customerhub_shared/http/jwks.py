"""The identity provider's signing keys, fetched from its JWKS over HTTP without blocking.

The set is trusted for `cache_seconds` after a fetch (so a key removed from the JWKS stops
verifying within that time) and refreshed in the background before it expires. Tokens with
unknown kids cause a fetch at most once per `refresh_cooldown_seconds` and are refused from
the cache in between, so they can never make everyone wait on the key server; a failed fetch
is retried no sooner than that either.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import structlog

log = structlog.get_logger(__name__)

# The algorithms we accept, and the key type each must be verified with.
KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
# Past this share of its lifetime a set in use is refreshed in the background.
_REFRESH_AHEAD = 0.75


class SigningKeyRefused(Exception):
    """The token names no key we trust, or a key that cannot verify its algorithm."""


class SigningKeysUnavailable(Exception):
    """The key server cannot be reached and the token's key is not in the cache."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the signing keys cannot be fetched; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class KeySetTiming:
    cache_seconds: float = 300.0
    refresh_cooldown_seconds: float = 30.0
    fetch_timeout_seconds: float = 5.0


class KeySet:
    """Keys by kid from one JWKS URL; one fetch at a time, shared by every waiting request."""

    def __init__(self, url: str, timing: KeySetTiming | None = None) -> None:
        self._url = url
        self._timing = timing or KeySetTiming()
        self._clock = time.monotonic
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch started, successful or not
        self._failed = False  # whether the last fetch failed
        self._fetch: asyncio.Task[None] | None = None

    async def signing_key(self, kid: str | None, algorithm: str) -> jwt.PyJWK:
        """The key for `kid` if it may verify `algorithm`; may wait for one bounded fetch."""
        if kid is None:
            raise SigningKeyRefused("the token names no signing key (kid)")
        if not self._fresh():
            await self._refresh(allowed=self._may_renew())
        elif kid not in self._keys:
            await self._refresh(allowed=self._may_fetch())
        elif self._due_ahead():
            self._start_fetch()
        key = self._keys.get(kid)
        if key is None:
            if self._failed:
                raise SigningKeysUnavailable(self._retry_after())
            raise SigningKeyRefused(f"no signing key {kid!r} in the identity provider's set")
        if key.algorithm_name != algorithm:
            raise SigningKeyRefused(f"the signing key {kid!r} does not verify {algorithm}")
        return key

    async def close(self) -> None:
        if self._fetch is not None and not self._fetch.done():
            self._fetch.cancel()

    def _age(self) -> float:
        return math.inf if self._fetched_at is None else self._clock() - self._fetched_at

    def _fresh(self) -> bool:
        return self._age() < self._timing.cache_seconds

    def _due_ahead(self) -> bool:
        return self._age() >= self._timing.cache_seconds * _REFRESH_AHEAD and self._may_renew()

    def _may_fetch(self) -> bool:
        """For an unknown kid: once per cooldown."""
        if self._attempted_at is None:
            return True
        return self._clock() - self._attempted_at >= self._timing.refresh_cooldown_seconds

    def _may_renew(self) -> bool:
        """For an ageing set: at once, unless the last fetch failed less than a cooldown ago."""
        return not self._failed or self._may_fetch()

    def _retry_after(self) -> int:
        since = 0.0 if self._attempted_at is None else self._clock() - self._attempted_at
        return max(1, math.ceil(self._timing.refresh_cooldown_seconds - since))

    async def _refresh(self, *, allowed: bool) -> None:
        """Wait for the fetch in flight, or for a new one if `allowed`."""
        if self._fetch is None or self._fetch.done():
            if not allowed:
                return  # an expired set keeps serving while the key server is unreachable
            self._start_fetch()
        assert self._fetch is not None
        # Shielded: a caller that gives up does not cancel the fetch others wait for.
        await asyncio.shield(self._fetch)

    def _start_fetch(self) -> None:
        if self._fetch is not None and not self._fetch.done():
            return
        self._attempted_at = self._clock()
        self._fetch = asyncio.create_task(self._fetch_keys(), name="jwks-fetch")

    async def _fetch_keys(self) -> None:
        try:
            async with asyncio.timeout(self._timing.fetch_timeout_seconds):
                document = await self._download()
            keys = _signing_keys(document)
        except (httpx.HTTPError, TimeoutError, ValueError) as error:
            self._failed = True
            log.warning("jwks.fetch_failed", url=self._url, error=type(error).__name__)
            return
        self._keys, self._fetched_at, self._failed = keys, self._clock(), False
        log.info("jwks.fetched", url=self._url, kids=sorted(keys))

    async def _download(self) -> Any:
        timeout = httpx.Timeout(self._timing.fetch_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.get(self._url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()


def _signing_keys(document: Any) -> dict[str, jwt.PyJWK]:
    """The usable signing keys of a JWKS document by kid; others (encryption keys, other
    algorithms, malformed entries) are left out. ValueError when it is not a JWKS at all."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
        if KEY_TYPES.get(key.algorithm_name) == key.key_type:
            keys[entry["kid"]] = key
    return keys
