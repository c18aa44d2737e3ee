"""How long a consumer rests after consecutive failures: one curve for every consumer."""

from __future__ import annotations

FIRST_PAUSE_SECONDS = 0.1
LONGEST_PAUSE_SECONDS = 5.0


def backoff(failures: int, *, longest: float = LONGEST_PAUSE_SECONDS) -> float:
    """The pause after `failures` consecutive failures (doubling, capped at `longest`)."""
    pause: float = FIRST_PAUSE_SECONDS * 2.0 ** min(failures, 32)
    return min(pause, longest)
