"""Rows of a batch claim their new customers in file order, while their reads and writes run
side by side: of two rows alike each other, the earlier one is created, whichever lane
runs it, as when the file is imported row after row."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from uuid import UUID

from customer_command.application.imports.ports import ClaimedRow, NewCustomerClaims


class ClaimTurns:
    def __init__(self, claims: NewCustomerClaims, numbers: Iterable[int]) -> None:
        self._claims = claims
        self._order = sorted(numbers)
        self._ready = {number: asyncio.Event() for number in self._order}
        self._passed: set[int] = set()
        self._next = 0
        self._advance()

    def of(self, number: int) -> RowTurn:
        return RowTurn(self, number)

    async def claim(
        self, number: int, customer_id: UUID, row: ClaimedRow, *, at_least: float
    ) -> list[tuple[str, float]]:
        """The claim of row `number`, once every earlier row claimed or passed."""
        await self._ready[number].wait()
        try:
            return self._claims.claim(customer_id, row, at_least=at_least)
        finally:
            self.passed(number)

    async def known(self, number: int, customer_id: UUID, row: ClaimedRow) -> None:
        """Row `number` matched an existing customer: recorded in turn, like a claim."""
        await self._ready[number].wait()
        try:
            self._claims.known(customer_id, row)
        finally:
            self.passed(number)

    def release(self, customer_id: UUID) -> None:
        self._claims.release(customer_id)

    def passed(self, number: int) -> None:
        """Row `number` claims nothing (or no more): later rows need not wait for it."""
        self._passed.add(number)
        self._advance()

    def _advance(self) -> None:
        while self._next < len(self._order) and self._order[self._next] in self._passed:
            self._next += 1
        if self._next < len(self._order):
            self._ready[self._order[self._next]].set()


class RowTurn:
    """One row's place in its batch's claims."""

    def __init__(self, turns: ClaimTurns, number: int) -> None:
        self._turns = turns
        self._number = number

    async def claim(
        self, customer_id: UUID, row: ClaimedRow, *, at_least: float
    ) -> list[tuple[str, float]]:
        return await self._turns.claim(self._number, customer_id, row, at_least=at_least)

    async def known(self, customer_id: UUID, row: ClaimedRow) -> None:
        await self._turns.known(self._number, customer_id, row)

    def release(self, customer_id: UUID) -> None:
        self._turns.release(customer_id)

    def passed(self) -> None:
        self._turns.passed(self._number)
