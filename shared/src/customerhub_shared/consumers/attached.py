"""What a service runs while a process serves it: the one shape every service's `attach()`
answers, so the embedded app, the write side and each service's own process compose their
services with the same loop (`running`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from customerhub_shared.consumers.runner import Runner, following

Background = Callable[[], AbstractAsyncContextManager[object]]


@dataclass(frozen=True, slots=True)
class Attached:
    """A service's consumers (listed by `/v1/admin/parked` and `/metrics`) and its background
    work: log followers, Kafka agents, dispatchers, imports. Its routes are declared before
    the process starts (each service's `routers()`), so the OpenAPI document needs no start."""

    consumers: tuple[Runner, ...] = ()
    background: tuple[Background, ...] = ()

    @classmethod
    def following_log(
        cls, *runners: Runner, on_stop: Callable[[], None] = lambda: None
    ) -> Attached:
        """Consumers that follow the event store's log in this process."""
        return cls(runners, (partial(following, runners, on_stop=on_stop),))

    def __add__(self, other: Attached) -> Attached:
        return Attached(self.consumers + other.consumers, self.background + other.background)


class Registry(Protocol):
    """Where a process lists the consumers it runs (`Consumers`)."""

    def add(self, *runners: Runner) -> None: ...


@asynccontextmanager
async def running(registry: Registry, *services: Attached) -> AsyncIterator[None]:
    """List every service's consumers and run their background work for the block; stopped
    in the reverse order of starting."""
    async with AsyncExitStack() as stack:
        for service in services:
            registry.add(*service.consumers)
            for start in service.background:
                await stack.enter_async_context(start())
        yield
