"""Reading a customer's attachments: the list from its stream, the bytes from the blob store.

Read from the stream, not a read model: right after an upload the file is listed and can be
downloaded, and the bytes are fetched only for a file the customer lists now.
"""

from __future__ import annotations

from uuid import UUID

from customer_command.adapters.repository import CustomerRepository
from customer_command.domain.errors import AttachmentNotFound
from customer_command.domain.state import Attachment
from customerhub_shared.blobs import BlobNotFound, BlobStore
from customerhub_shared.blobs.sealing import open_sealed
from customerhub_shared.keyring import KeyRing


async def list_attachments(customers: CustomerRepository, customer_id: UUID) -> list[Attachment]:
    return (await customers.get(customer_id)).customer.listed_attachments()


async def open_attachment(
    customers: CustomerRepository,
    blobs: BlobStore,
    keyring: KeyRing,
    customer_id: UUID,
    attachment_id: UUID,
) -> tuple[Attachment, bytes]:
    """The file's bytes, opened with the key of the customer it was attached to."""
    attachment = (await customers.get(customer_id)).customer.attachment(attachment_id)
    try:
        sealed = await blobs.get(attachment.blob_key)
    except BlobNotFound:
        sealed = None
    key = await keyring.key_for(attachment.sealed_for)
    content = None if sealed is None else open_sealed(key, attachment_id, sealed)
    if content is None:
        # Its removal has begun (the bytes, then the key, go first): as good as gone.
        raise AttachmentNotFound(attachment_id)
    return attachment, content
