"""Why a notification request is refused: named errors, mapped once to HTTP problems."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID


class NotificationRefused(Exception):
    """A request the rules refuse; `code` names the problem type."""

    code = "notification-refused"


class UnknownTemplate(NotificationRefused):
    code = "unknown-template"

    def __init__(self, template: str, known: Sequence[str]) -> None:
        super().__init__(f"there is no template {template!r}; known: {', '.join(known)}")
        self.known = tuple(known)


class MissingParameters(NotificationRefused):
    code = "missing-parameters"

    def __init__(self, template: str, names: Sequence[str]) -> None:
        super().__init__(f"template {template!r} needs the parameters: {', '.join(names)}")
        self.names = tuple(names)


class UnexpectedParameters(NotificationRefused):
    code = "unexpected-parameters"

    def __init__(self, template: str, names: Sequence[str]) -> None:
        super().__init__(f"template {template!r} does not take: {', '.join(names)}")
        self.names = tuple(names)


class CustomerNotFound(NotificationRefused):
    code = "customer-not-found"

    def __init__(self, customer_id: UUID) -> None:
        super().__init__(f"customer {customer_id} is unknown to the notification service")
        self.customer_id = customer_id


class CustomerMerged(NotificationRefused):
    code = "customer-merged"

    def __init__(self, customer_id: UUID, merged_into: UUID) -> None:
        super().__init__(f"customer {customer_id} was merged into {merged_into}: notify that one")
        self.merged_into = merged_into


class CustomerNotNotifiable(NotificationRefused):
    code = "customer-not-notifiable"

    def __init__(self, customer_id: UUID, status: str) -> None:
        super().__init__(f"customer {customer_id} is {status}: it is notified no more")
        self.status = status


class UnknownContacts(NotificationRefused):
    code = "unknown-contacts"

    def __init__(self, contact_ids: Sequence[UUID]) -> None:
        listed = ", ".join(str(contact_id) for contact_id in contact_ids)
        super().__init__(f"the customer has no contact(s) {listed}")
        self.contact_ids = tuple(contact_ids)
