"""The supervisor: a loop that raises or quits is logged and restarted; a silent one is stalled."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from hearth.bot.supervisor import Supervisor
from tests.waiting import eventually


class ScriptedLoop:
    """A loop whose runs fail as scripted: an exception to raise, "return" to quit unasked,
    or None to run properly until stopped (with a heartbeat at each `beat()`)."""

    def __init__(self, *script: Exception | str | None) -> None:
        self.script = list(script)
        self.heartbeat = time.monotonic()
        self.runs = 0
        self._stopping = False
        self._wake = asyncio.Event()

    async def run(self) -> None:
        self.runs += 1
        self.heartbeat = time.monotonic()
        step = self.script.pop(0) if self.script else None
        if isinstance(step, Exception):
            raise step
        if step == "return":
            return
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            self.heartbeat = time.monotonic()

    def beat(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()


class Ahead:
    """A monotonic clock a test can move ahead of the real one."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


async def test_a_loop_that_raises_is_logged_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    loop = ScriptedLoop(RuntimeError("database went away"), RuntimeError("still away"))
    supervisor = Supervisor(first_backoff=0.01)
    supervisor.add("sender", loop, stall_after=60)
    supervisor.start()
    try:
        await eventually(lambda: loop.runs == 3 and supervisor.status()["sender"].running)
        status = supervisor.status()["sender"]
        assert (status.restarts, status.last_error) == (2, "RuntimeError: still away")
        assert supervisor.problems() == {}
        failures = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert [r.exc_info[1].args[0] for r in failures if r.exc_info] == [
            "database went away",
            "still away",
        ]
    finally:
        await supervisor.stop()
    assert loop.runs == 3  # stopping is not a failure: no restart after it


async def test_a_loop_that_returns_unasked_is_restarted() -> None:
    loop = ScriptedLoop("return")
    supervisor = Supervisor(first_backoff=0.01)
    supervisor.add("jobs", loop, stall_after=60)
    supervisor.start()
    try:
        await eventually(lambda: loop.runs == 2 and supervisor.status()["jobs"].running)
        assert supervisor.status()["jobs"].last_error == "run() returned without being stopped"
        assert supervisor.status()["jobs"].restarts == 1
    finally:
        await supervisor.stop()


async def test_a_dead_loop_is_reported_stopped_while_it_waits_to_restart() -> None:
    loop = ScriptedLoop(ValueError("poison"))
    supervisor = Supervisor(first_backoff=3600)
    supervisor.add("sender", loop, stall_after=60)
    supervisor.start()
    await eventually(lambda: not supervisor.status()["sender"].running)
    assert supervisor.problems() == {"sender": "stopped (ValueError: poison); restarts: 0"}
    await supervisor.stop()  # does not wait out the backoff
    assert loop.runs == 1


async def test_backoff_doubles_up_to_its_limit() -> None:
    loop = ScriptedLoop(*[RuntimeError(str(n)) for n in range(6)])
    supervisor = Supervisor(first_backoff=0.01, max_backoff=0.04)
    pauses: list[float] = []
    pause = supervisor._pause

    async def recorded(seconds: float) -> None:
        pauses.append(seconds)
        await pause(seconds)

    supervisor._pause = recorded  # type: ignore[method-assign]
    supervisor.add("sender", loop, stall_after=60)
    supervisor.start()
    await eventually(lambda: loop.runs == 7)
    await supervisor.stop()
    assert pauses == [0.01, 0.02, 0.04, 0.04, 0.04, 0.04]


async def test_a_silent_loop_is_stalled() -> None:
    clock = Ahead()
    loop = ScriptedLoop()
    supervisor = Supervisor(monotonic=clock)
    supervisor.add("jobs", loop, stall_after=30)
    supervisor.start()
    try:
        await eventually(lambda: supervisor.status()["jobs"].running)
        clock.offset = 29
        assert supervisor.problems() == {}
        clock.offset = 45
        assert supervisor.problems() == {"jobs": "stalled: no heartbeat for 45s (limit 30s)"}
        loop.beat()  # a sign of life ends the stall
        clock.offset = 0
        await eventually(lambda: supervisor.problems() == {})
    finally:
        await supervisor.stop()


async def test_loops_added_after_start_are_started_and_names_are_unique() -> None:
    supervisor = Supervisor()
    first, second = ScriptedLoop(), ScriptedLoop()
    supervisor.add("a", first, stall_after=60)
    supervisor.start()
    supervisor.add("b", second, stall_after=60)
    with pytest.raises(ValueError, match="already supervised"):
        supervisor.add("a", ScriptedLoop(), stall_after=60)
    await eventually(lambda: first.runs == second.runs == 1)
    await supervisor.stop()
    assert {name: s.running for name, s in supervisor.status().items()} == {"a": False, "b": False}


async def test_one_loop_can_be_stopped_for_good() -> None:
    supervisor = Supervisor(first_backoff=0.01)
    held, other = ScriptedLoop(), ScriptedLoop()
    supervisor.add("held", held, stall_after=60)
    supervisor.add("other", other, stall_after=60)
    supervisor.start()
    await eventually(lambda: held.runs == other.runs == 1)
    await supervisor.stop_loop("held")
    assert supervisor.problems() == {"held": "stopped (stopped on request); restarts: 0"}
    assert held.runs == 1
    await supervisor.stop()


async def test_a_loop_waiting_to_restart_is_stopped_at_once() -> None:
    supervisor = Supervisor(first_backoff=3600)
    loop = ScriptedLoop(RuntimeError("down"))
    supervisor.add("sender", loop, stall_after=60)
    supervisor.start()
    await eventually(lambda: not supervisor.status()["sender"].running)
    await supervisor.stop_loop("sender")
    assert loop.runs == 1


class LongRunThenFail:
    """Fails at once twice, then fails after running (by `clock`) for ten minutes."""

    def __init__(self, clock: Ahead) -> None:
        self.clock, self.runs, self.heartbeat = clock, 0, time.monotonic()

    async def run(self) -> None:
        self.runs += 1
        if self.runs == 3:
            self.clock.offset += 600
        raise RuntimeError(f"run {self.runs}")

    def stop(self) -> None:
        pass


async def test_the_backoff_starts_over_after_a_loop_ran_well() -> None:
    clock = Ahead()
    loop = LongRunThenFail(clock)
    supervisor = Supervisor(first_backoff=0.01, max_backoff=60, monotonic=clock)
    pauses: list[float] = []
    pause = supervisor._pause

    async def recorded(seconds: float) -> None:
        pauses.append(seconds)
        await pause(0.01)

    supervisor._pause = recorded  # type: ignore[method-assign]
    supervisor.add("sender", loop, stall_after=60)
    supervisor.start()
    await eventually(lambda: len(pauses) >= 4)
    await supervisor.stop()
    assert pauses[:4] == [0.01, 0.02, 0.01, 0.02]
