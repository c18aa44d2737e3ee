"""Blobs as objects in one S3 bucket (the distributed modes): path-style requests signed with
SigV4 over httpx, so any S3-compatible server works (SeaweedFS in the project's scripts)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from customerhub_shared.blobs.port import (
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    check_key,
)
from customerhub_shared.blobs.sigv4 import EMPTY_PAYLOAD_SHA256, Credentials, sign


class S3BlobStore(BlobStore):
    """The bucket is created on first use if it is missing."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        credentials: Credentials,
        *,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.bucket = bucket
        self.credentials = credentials
        self._host = urlsplit(self.endpoint).netloc
        self._base_path = urlsplit(self.endpoint).path
        # Built on first use, so constructing the store connects to nothing.
        self._client: httpx.AsyncClient | None = None
        self._timeout = timeout_seconds
        self._bucket_ready = False
        self._bucket_lock = asyncio.Lock()

    async def put(self, key: str, content: bytes) -> None:
        path = self._object_path(key)
        await self._ensure_bucket()
        response = await self._send("PUT", path, content)
        _check(response, "PUT")

    async def get(self, key: str) -> bytes:
        path = self._object_path(key)
        await self._ensure_bucket()
        response = await self._send("GET", path)
        if response.status_code == 404:
            raise BlobNotFound(key)
        _check(response, "GET")
        return response.content

    async def delete(self, key: str) -> None:
        path = self._object_path(key)
        await self._ensure_bucket()
        response = await self._send("DELETE", path)
        if response.status_code != 404:
            _check(response, "DELETE")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _object_path(self, key: str) -> str:
        return f"{self._base_path}/{self.bucket}/{check_key(key)}"

    async def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        async with self._bucket_lock:
            if self._bucket_ready:
                return
            bucket_path = f"{self._base_path}/{self.bucket}"
            found = await self._send("HEAD", bucket_path)
            if found.status_code == 404:
                created = await self._send("PUT", bucket_path, b"")
                # Another process may have created it meanwhile: that is as good.
                if created.status_code != 409:
                    _check(created, "create bucket")
            else:
                _check(found, "HEAD bucket")
            self._bucket_ready = True

    async def _send(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        payload_sha256 = hashlib.sha256(content).hexdigest() if content else EMPTY_PAYLOAD_SHA256
        headers = sign(
            self.credentials,
            method=method,
            path=path,
            query={},
            headers={"host": self._host},
            payload_sha256=payload_sha256,
            at=datetime.now(UTC),
        )
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        url = f"{self.endpoint.removesuffix(self._base_path)}{path}"
        try:
            return await self._client.request(method, url, content=content, headers=headers)
        except httpx.HTTPError as error:
            raise BlobStoreUnavailable(f"S3 {method} failed: {type(error).__name__}") from error


def _check(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    # S3 names the error in an XML <Code>; the body never holds object content on errors.
    code = _error_code(response.text)
    raise BlobStoreUnavailable(f"S3 {what} answered {response.status_code} {code}".rstrip())


def _error_code(body: str) -> str:
    start, end = body.find("<Code>"), body.find("</Code>")
    return body[start + len("<Code>") : end] if 0 <= start < end else ""
