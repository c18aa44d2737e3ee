"""Where attachments' bytes live: the blob store port and its adapters (local files, S3)."""

from customerhub_shared.blobs.port import BlobNotFound, BlobStore, BlobStoreUnavailable, check_key

__all__ = ["BlobNotFound", "BlobStore", "BlobStoreUnavailable", "check_key"]
