"""Mass actions: the same command for many customers, each its own command.

One customer's refusal is its outcome, not the batch's: the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from customer_command.application import commands as c
from customer_command.application.context import (
    CommandContext,
    CommandResult,
    CustomerNotFound,
    VersionMismatch,
)
from customer_command.application.handlers import CustomerPorts, handle
from customer_command.application.names import NameTaken
from customer_command.domain.errors import DomainError
from customerhub_shared.eventstore import ConcurrencyConflict
from customerhub_shared.mapper import PersonalDataKeyMissing

# What refuses one customer's command; anything else is a bug and stops the batch.
REFUSALS = (
    DomainError,
    CustomerNotFound,
    VersionMismatch,
    NameTaken,
    ConcurrencyConflict,
    PersonalDataKeyMissing,
)

CommandFor = Callable[[UUID], c.CustomerCommand]


@dataclass(frozen=True, slots=True)
class Outcome:
    customer_id: UUID
    result: CommandResult | None = None
    refusal: Exception | None = None


async def run_for_each(
    customer_ids: Sequence[UUID], command_for: CommandFor, ctx: CommandContext, ports: CustomerPorts
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for customer_id in dict.fromkeys(customer_ids):
        try:
            result = await handle(command_for(customer_id), ctx, ports)
        except REFUSALS as refusal:
            outcomes.append(Outcome(customer_id, refusal=refusal))
        else:
            outcomes.append(Outcome(customer_id, result=result))
    return outcomes
