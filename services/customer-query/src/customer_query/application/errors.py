"""Why a query cannot be answered as asked; the HTTP edge maps each to a problem once."""

from __future__ import annotations


class QueryRefused(Exception):
    """A query the caller must change (or wait for) before it can be answered."""

    code = "query-refused"


class CustomerNotFound(QueryRefused):
    code = "customer-not-found"

    def __init__(self, customer_id: str) -> None:
        super().__init__(f"no customer {customer_id}")
        self.customer_id = customer_id


class CustomerNotYetCreated(CustomerNotFound):
    code = "customer-not-yet-created"

    def __init__(self, customer_id: str, as_of: str) -> None:
        QueryRefused.__init__(self, f"customer {customer_id} did not exist yet at {as_of}")
        self.customer_id = customer_id


class CustomerDeleted(QueryRefused):
    code = "customer-deleted"

    def __init__(self, customer_id: str) -> None:
        super().__init__(f"customer {customer_id} was deleted")
        self.customer_id = customer_id


class InvalidCursor(QueryRefused):
    code = "invalid-cursor"

    def __init__(self) -> None:
        super().__init__("the cursor is not one this list gave out for this sort order")


class EmptyDuplicateProbe(QueryRefused):
    code = "empty-duplicate-probe"

    def __init__(self) -> None:
        super().__init__("give at least one of name, email or phone")


class PositionBeyondLog(QueryRefused):
    """No event has that position yet: waiting for it could only time out."""

    code = "position-beyond-log"

    def __init__(self, wanted: int, head: int) -> None:
        super().__init__(f"position {wanted} is beyond the log's last position {head}")
        self.wanted = wanted
        self.head = head


class InstantOutOfRange(QueryRefused):
    code = "instant-out-of-range"

    def __init__(self) -> None:
        super().__init__("as_of must lie between years 1 and 9999 once converted to UTC")


class ReadModelBehind(QueryRefused):
    """The read model has not reached the position the client asked for, in time."""

    code = "read-model-behind"

    def __init__(self, wanted: int, reached: int) -> None:
        super().__init__(f"the read model is at position {reached}, not yet at {wanted}")
        self.wanted = wanted
        self.reached = reached
