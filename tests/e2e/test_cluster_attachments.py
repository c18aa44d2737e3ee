"""Attachments in the local cluster: uploaded through customer-command, their bytes in a real
S3 server (SeaweedFS), downloaded back the same, listed by customer-query, gone when removed.

Starts the cluster: run under `flock /tmp/customerhub-cluster.lock`."""

from __future__ import annotations

import os

import httpx
import pytest

from customerhub_shared.blobs import BlobNotFound
from customerhub_shared.blobs.s3 import S3BlobStore
from customerhub_shared.blobs.sigv4 import Credentials
from tests.e2e.test_cluster import (  # noqa: F401 - cluster and http: fixtures, used by name
    Cluster,
    cluster,
    http,
    read_back,
)

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.mongodb]


def cluster_blobs(running: Cluster) -> S3BlobStore:
    settings = running.settings
    assert settings["CUSTOMERHUB_BLOB_STORE"] == "s3"
    credentials = Credentials(
        settings["CUSTOMERHUB_S3_ACCESS_KEY_ID"], settings["CUSTOMERHUB_S3_SECRET_ACCESS_KEY"]
    )
    return S3BlobStore(
        settings["CUSTOMERHUB_S3_ENDPOINT"], settings["CUSTOMERHUB_S3_BUCKET"], credentials
    )


async def test_an_upload_through_the_command_service_downloads_as_the_same_bytes(
    cluster: Cluster,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    created = await http.post(
        f"{cluster.command_url}/v1/customers",
        json={"kind": "company", "name": "Fournil du Port", "main_location": {"city": "Brest"}},
    )
    assert created.status_code == 201, created.text
    customer = f"{cluster.command_url}/v1/customers/{created.json()['id']}"
    content = b"%PDF-1.7\n" + os.urandom(2 * 1024 * 1024)
    uploaded = await http.post(
        f"{customer}/attachments",
        files={"file": ("plan-atelier.pdf", content, "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    attachment_id = uploaded.json()["attachment_id"]

    download = await http.get(f"{customer}/attachments/{attachment_id}")
    assert download.status_code == 200, download.text
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    blobs = cluster_blobs(cluster)
    try:
        at_rest = await blobs.get(f"attachments/{attachment_id}")
        assert len(at_rest) == len(content) + 28 and content[:64] not in at_rest  # sealed

        shown = await read_back(http, cluster, created.json()["id"], uploaded.json()["position"])
        assert [item["file_name"] for item in shown["attachments"]] == ["plan-atelier.pdf"]

        removed = await http.delete(f"{customer}/attachments/{attachment_id}")
        assert removed.status_code == 200, removed.text
        with pytest.raises(BlobNotFound):
            await blobs.get(f"attachments/{attachment_id}")
    finally:
        await blobs.close()
