"""The admission gate lets ``limit`` callers in at once, the others in their order of arrival, and
turns away a caller that waited past ``wait_seconds`` without letting it in."""

from __future__ import annotations

import asyncio

import pytest

from services import errors
from services.admission import AdmissionGate


async def test_callers_past_the_limit_wait_and_get_in_by_order_of_arrival() -> None:
    gate = AdmissionGate("work", limit=lambda: 2, wait_seconds=lambda: 60)
    inside = 0
    most_inside = 0
    order: list[int] = []
    release = asyncio.Event()

    async def caller(n: int) -> None:
        nonlocal inside, most_inside
        async with gate.admitted():
            inside += 1
            most_inside = max(most_inside, inside)
            order.append(n)
            await release.wait()
            inside -= 1

    tasks = [asyncio.create_task(caller(n)) for n in range(6)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert order == [0, 1]  # the other four wait outside
    release.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4, 5]
    assert most_inside == 2


async def test_a_caller_that_waited_too_long_is_turned_away_and_takes_no_place() -> None:
    gate = AdmissionGate("webhook runs", limit=lambda: 1, wait_seconds=lambda: 0.01)
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.admitted():
            await release.wait()

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    with pytest.raises(errors.Overloaded) as refused:
        async with gate.admitted():
            pytest.fail("let in while the only place was taken")
    assert refused.value.retry_after >= 1 and "too busy to take webhook runs" in refused.value.message
    release.set()
    await held
    async with gate.admitted():  # the refused caller left nothing behind: the place is free again
        pass


async def test_an_error_inside_gives_the_place_back() -> None:
    gate = AdmissionGate("work", limit=lambda: 1, wait_seconds=lambda: 0.01)
    with pytest.raises(RuntimeError):
        async with gate.admitted():
            raise RuntimeError("the database is away")
    async with gate.admitted():
        pass
