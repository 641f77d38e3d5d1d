"""Hypothesis strategies for hostile-but-signed input, and the checks every request must pass."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hearth.storage.db import Database
from hearth.storage.models import Base

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Modest example counts: the suite runs on 2 shared cores."""

NASTY = [
    "",
    "1e400",
    "-1",
    "nan",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "²",
    "99999999999999999999",
    "x" * 300,
    "é" * 5000,
    "<!channel>",
    "C111",
    "W111",
    "1596183880.004200",
    "9999999999999.1",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-02-30T10:00:00Z",
]
ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.sampled_from(NASTY),
    st.text(max_size=12),
)
VALUES = st.recursive(
    ATOMS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
"""Any JSON value, weighted towards the ones that broke Hearth."""

DEEP = ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000]
"""JSON nested far past any parser's recursion limit."""


def fields(dotted: str) -> tuple[tuple[Any, ...], ...]:
    """Paths written `event.item.ts actions.0.value …` (numbers index lists)."""
    return tuple(
        tuple(int(part) if part.isdigit() else part for part in path.split("."))
        for path in dotted.split()
    )


def paths(value: Any, prefix: tuple[Any, ...] = (), depth: int = 4) -> Iterator[tuple[Any, ...]]:
    """Every path into `value` (dict keys, list indexes) down to `depth`."""
    yield prefix
    if depth == 0:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key), depth - 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index), depth - 1)


@st.composite
def mutated(
    draw: st.DrawFn,
    payload: dict[str, Any],
    keep: tuple[str, ...] = (),
    focus: tuple[tuple[Any, ...], ...] = (),
) -> Any:
    """`payload` with up to three of its values replaced (by anything) or deleted; half the
    time at one of the `focus` paths (made when missing), the fields that are read."""
    result: Any = copy.deepcopy(payload)
    for _ in range(draw(st.integers(0, 3))):
        if focus and isinstance(result, dict) and draw(st.booleans()):
            path = draw(st.sampled_from(focus))
        else:
            path = draw(st.sampled_from([p for p in paths(result) if not (p and p[0] in keep)]))
        if not path:
            result = draw(VALUES)
            continue
        *parents, last = path
        holder = result
        for step in parents:
            if isinstance(holder, dict) and not isinstance(holder.get(step), dict | list):
                holder[step] = {}
            elif isinstance(holder, list) and not (isinstance(step, int) and step < len(holder)):
                break
            holder = holder[step]
        else:
            if isinstance(holder, dict) and last in holder and draw(st.booleans()):
                del holder[last]
            elif isinstance(holder, dict) or (
                isinstance(holder, list) and isinstance(last, int) and last < len(holder)
            ):
                holder[last] = draw(VALUES)
    return result


DELIVERY_BOOKKEEPING = frozenset({"dm_channels", "outbox_pacing"})
"""What the outbox sender writes in the background while it delivers earlier work (remembered
DM channels, each conversation's pace): not state a request changes."""


async def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table Hearth has, but the outbox sender's bookkeeping."""
    async with db.transaction() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
            if table.name not in DELIVERY_BOOKKEEPING
        }


def crashes(records: list[logging.LogRecord]) -> list[str]:
    """Log records that tell of an unhandled exception: errors with a traceback, or asyncio's
    "Task exception was never retrieved"."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.levelno >= logging.ERROR
        and (r.exc_info or r.exc_text or "exception was never retrieved" in r.getMessage())
    ]
