"""Waiting for what an app does after acknowledging: bounded polling, never a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Predicate = Callable[[], bool | Awaitable[bool]]


async def eventually(predicate: Predicate, timeout: float = 5.0, what: str = "") -> None:
    """Poll `predicate` (sync or async) until it holds; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.01)
