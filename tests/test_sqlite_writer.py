"""SQLite's one writer, shared in turn by this process's transactions: urgent ones (storing what
was just acknowledged) first, and a transaction cancelled while it waits never stalls the rest."""

from __future__ import annotations

import asyncio

from hearth.storage.db import Database
from hearth.storage.migrate import upgrade


async def test_urgent_transactions_go_before_the_others_that_wait(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await upgrade(db)
    order: list[str] = []
    release, holding = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with db.transaction():
            order.append("holder")
            holding.set()
            await release.wait()

    async def writer(name: str, urgent: bool) -> None:
        async with db.transaction(urgent=urgent):
            order.append(name)

    held = asyncio.create_task(holder())
    await holding.wait()
    waiting = [
        asyncio.create_task(writer("handling", False)),
        asyncio.create_task(writer("job", False)),
        asyncio.create_task(writer("journal", True)),
    ]
    for _ in range(5):  # every writer is in its lane
        await asyncio.sleep(0)
    release.set()
    await asyncio.gather(held, *waiting)
    assert order == ["holder", "journal", "handling", "job"]
    await db.close()


async def test_a_transaction_cancelled_while_it_waits_does_not_stall_the_others(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    await upgrade(db)
    release, holding = asyncio.Event(), asyncio.Event()
    done: list[str] = []

    async def holder() -> None:
        async with db.transaction():
            holding.set()
            await release.wait()

    async def writer(name: str) -> None:
        async with db.transaction(urgent=True):
            done.append(name)

    held = asyncio.create_task(holder())
    await holding.wait()
    gone, stays = asyncio.create_task(writer("gone")), asyncio.create_task(writer("stays"))
    for _ in range(5):
        await asyncio.sleep(0)
    gone.cancel()
    release.set()
    await asyncio.gather(held, stays)
    assert gone.cancelled() and done == ["stays"]
    async with db.transaction():  # and the writer is free again
        done.append("after")
    assert done == ["stays", "after"]
    await db.close()
