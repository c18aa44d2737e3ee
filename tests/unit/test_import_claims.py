"""The claims of one import run: rows alike each other in name, email or phone are caught
before the read model shows the first one, and rows claim in file order whichever lane runs
them."""

from __future__ import annotations

import asyncio
import uuid

from customer_command.application.imports.ports import ClaimedRow
from customer_command.application.imports.turns import ClaimTurns
from customerhub.directory import Claims

LIKELY = 0.8


def claimed(name: str, email: str | None = None, phone: str | None = None) -> ClaimedRow:
    return ClaimedRow(name=name, email=email, phone=phone)


def test_a_row_alike_a_claimed_one_is_scored_and_not_claimed() -> None:
    claims = Claims()
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert claims.claim(first, claimed("Boulangerie Martin", "a@x.example"), at_least=LIKELY) == []
    assert claims.claim(second, claimed("Boulangerie Martin SARL"), at_least=LIKELY) == [
        (str(first), 0.8)
    ]
    assert claims.claim(third, claimed("Garage Nord", "A@X.example"), at_least=LIKELY) == [
        (str(first), 0.9)
    ]
    assert (
        claims.claim(
            third, claimed("Garage Nord", "b@x.example", "+33 1 40 00 00 01"), at_least=LIKELY
        )
        == []
    )
    # The claimed one's phone is found as typed another way ('01 40…' is its national form).
    assert claims.claim(
        uuid.uuid4(), claimed("Ferme Sud", phone="01 40 00 00 01"), at_least=LIKELY
    ) == [(str(third), 0.8)]


def test_a_row_alike_a_claimed_one_below_the_threshold_is_claimed_all_the_same() -> None:
    claims = Claims()
    first, second = uuid.uuid4(), uuid.uuid4()
    assert claims.claim(first, claimed("Garage Nord Est bcdfgh"), at_least=LIKELY) == []
    assert claims.claim(second, claimed("Garage Nord Est xyzwvq"), at_least=LIKELY) == []  # 0.75
    found = claims.claim(uuid.uuid4(), claimed("Garage Nord Est ayzwvq"), at_least=LIKELY)
    assert [customer_id for customer_id, _ in found] == [str(second)]


def test_a_released_claim_is_no_longer_found_and_old_claims_make_room() -> None:
    claims = Claims(kept=2)
    ids = [uuid.uuid4() for _ in range(4)]
    claims.claim(ids[0], claimed("Atelier Rouge"), at_least=LIKELY)
    claims.release(ids[0])
    assert claims.claim(ids[1], claimed("Atelier Rouge"), at_least=LIKELY) == []
    claims.claim(ids[2], claimed("Garage Bleu"), at_least=LIKELY)
    claims.claim(
        ids[3], claimed("Ferme Verte"), at_least=LIKELY
    )  # three kept at most two: the oldest goes
    assert claims.claim(uuid.uuid4(), claimed("Atelier Rouge"), at_least=LIKELY) == []
    assert (
        claims.claim(ids[2], claimed("Garage Bleu"), at_least=LIKELY) == []
    )  # a row does not match itself


async def test_rows_claim_in_file_order_whatever_order_they_arrive_in() -> None:
    claims = Claims()
    turns = ClaimTurns(claims, [2, 3, 4, 5])
    order: list[int] = []
    scores: dict[int, list[float]] = {}

    async def row(number: int, delay: float, name: str | None) -> None:
        await asyncio.sleep(delay)
        if name is None:
            turns.of(number).passed()  # an update: it claims nothing
            return
        found = await turns.of(number).claim(uuid.uuid4(), claimed(name), at_least=LIKELY)
        order.append(number)
        scores[number] = [score for _, score in found]

    await asyncio.gather(
        row(5, 0.0, "Garage Bleu"),
        row(4, 0.01, "Atelier Rouge"),
        row(3, 0.03, "Atelier Rouge"),
        row(2, 0.02, None),
    )
    assert order == [3, 4, 5]
    # Row 4 arrived first, but row 3 comes first in the file: row 4 is the duplicate.
    assert scores == {3: [], 4: [1.0], 5: []}
