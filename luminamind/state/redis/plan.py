"""Running a Redis saver's plans: `run_plan` with a blocking client, `arun_plan` with asyncio.

A plan (see `luminamind.state.redis.base`) is a generator that yields `Step`s, the Redis calls to
make, and receives their replies. The runners below are the only code that differs between the
sync and the async saver: one calls each step, the other awaits it. A failing step is thrown back
into the plan at the ``yield``, so the plan's own error handling runs for both alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any, TypeVar

from langgraph.checkpoint.base import CheckpointTuple

__all__ = ["Listing", "Plan", "Step", "aiterate_plan", "arun_plan", "iterate_plan", "run_plan"]

_T = TypeVar("_T")

# Any: a step returns its reply (sync client) or an awaitable of it (asyncio client); replies are
# whatever the command returns.
Step = Callable[[], Any]
"""One Redis call of a plan: a command, a script call or a pipeline's ``execute``."""
Plan = Generator[Step, Any, _T]
"""An operation's control flow: yields steps, receives their replies, returns its result."""
Listing = Generator["Step | CheckpointTuple", Any, None]
"""A listing plan: it also yields the checkpoint tuples it finds, in order."""


def _drive(plan: Listing | Plan[Any]) -> Generator[CheckpointTuple, None, Any]:
    """Call each step of ``plan``; yield the tuples it finds; return what it returns."""
    reply: Any = None  # Any: the previous step's reply
    error: BaseException | None = None
    try:
        while True:
            try:
                step = plan.throw(error) if error is not None else plan.send(reply)
            except StopIteration as done:
                return done.value
            error, reply = None, None
            if isinstance(step, CheckpointTuple):
                yield step
                continue
            try:
                reply = step()
            except BaseException as exc:  # thrown into the plan: its guard converts Redis errors
                error = exc
    finally:
        plan.close()


async def _adrive(plan: Listing | Plan[Any], result: list[Any]) -> AsyncIterator[CheckpointTuple]:
    """`_drive` awaiting each step; what the plan returns is appended to ``result``."""
    reply: Any = None  # Any: the previous step's reply
    error: BaseException | None = None
    try:
        while True:
            try:
                step = plan.throw(error) if error is not None else plan.send(reply)
            except StopIteration as done:
                result.append(done.value)
                return
            error, reply = None, None
            if isinstance(step, CheckpointTuple):
                yield step
                continue
            try:
                reply = await step()
            except BaseException as exc:  # thrown into the plan, as in _drive
                error = exc
    finally:
        plan.close()


def run_plan(plan: Plan[_T]) -> _T:
    """Run ``plan`` with a blocking client: each step's return value is its reply."""
    driver = _drive(plan)
    while True:
        try:
            next(driver)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]  # the plan's return value


def iterate_plan(plan: Listing) -> Iterator[CheckpointTuple]:
    """Run a listing plan with a blocking client; its tuples are the iterator's items."""
    yield from _drive(plan)


async def arun_plan(plan: Plan[_T]) -> _T:
    """Run ``plan`` with an asyncio client: each step returns an awaitable of its reply."""
    result: list[Any] = []  # Any: the plan's return value
    async for _ in _adrive(plan, result):
        pass
    return result[0]  # type: ignore[no-any-return]  # the plan's return value


async def aiterate_plan(plan: Listing) -> AsyncIterator[CheckpointTuple]:
    """Run a listing plan with an asyncio client; its tuples are the items."""
    async for item in _adrive(plan, []):
        yield item
