"""How far a reader may go in a log whose positions commit out of order (the PostgreSQL store).

A position is handed out before its transaction commits, so a reader that sees position 7 may
not yet see position 6. What it may read is bounded by a horizon, raised from sightings: the
highest position handed out so far, then the transactions inserting at that moment. Once every
one of those transactions has ended, no position at or below that sighting can still appear.
"""

from __future__ import annotations

from dataclasses import dataclass

# Sightings wait while their appenders are in flight; past this many, the newest replaces the
# one before it (dropping a sighting only defers the horizon, it never lets a reader skip).
_MAX_WAITING = 32


@dataclass(frozen=True, slots=True)
class Sighting:
    """Taken in this order: the last position handed out, then who was inserting just after."""

    allocated: int
    appending: frozenset[str]


class Horizon:
    """The highest position at or below which every handed-out position has committed or
    rolled back; it only grows."""

    def __init__(self) -> None:
        self.position = 0
        self._waiting: list[Sighting] = []

    def advance(self, sighting: Sighting) -> int:
        """Raise the horizon with a new sighting (each newer than the ones before)."""
        still_appending = sighting.appending
        waiting: list[Sighting] = []
        for earlier in self._waiting:
            if earlier.appending.isdisjoint(still_appending):
                self.position = max(self.position, earlier.allocated)
            else:
                waiting.append(earlier)
        if not still_appending:
            self.position = max(self.position, sighting.allocated)
        elif len(waiting) < _MAX_WAITING and not (
            waiting and waiting[-1].appending == still_appending
        ):
            waiting.append(sighting)
        else:  # the same appenders as the one before, or no room: the newer covers it
            waiting[-1] = sighting
        self._waiting = [w for w in waiting if w.allocated > self.position]
        return self.position
