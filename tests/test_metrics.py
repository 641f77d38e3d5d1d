"""GET /metrics: prometheus-client's text format, from the app's own registry.

Events by outcome, the outbox by status with its lag, dead letters, job runs, and per
background loop: up, heartbeat age, restarts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hearth.bot.metrics import QUANTILES, Metrics
from hearth.bot.supervisor import Supervisor
from tests.fakes.slack_api import SPEC_MISSING_REASON, spec_available
from tests.recording import SettableClock
from tests.slack_helpers import CHANNEL, NEWCOMER, HearthHarness, event_callback, running_hearth
from tests.test_supervisor import ScriptedLoop
from tests.waiting import eventually

needs_spec = pytest.mark.skipif(not spec_available(), reason=SPEC_MISSING_REASON)


def samples(text: str) -> dict[str, float]:
    """Every sample of a Prometheus text exposition, as `name{label="value",…}` → value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


async def scrape(hearth: HearthHarness) -> dict[str, float]:
    response = await hearth.client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    return samples(await response.text())


JOURNAL = ("stored", "duplicates", "refused", "handled", "repeats", "retried", "dead")


@needs_spec
async def test_metrics_count_events_and_outbox_messages(sqlite_url: str) -> None:
    async with running_hearth(sqlite_url) as hearth:
        await hearth.command("setup")
        joined = event_callback("member_joined_channel", user=NEWCOMER, channel=CHANNEL)
        await hearth.send_event(joined)
        await hearth.send_event(joined, retry_num=1)  # a retry: a repeat, not a second welcome
        await eventually(lambda: hearth.posts_to(f"D{NEWCOMER}"), what="the welcome DM")

        async def outbox_settled() -> bool:
            return (await scrape(hearth)).get('hearth_outbox_messages{status="sent"}') == 1

        await eventually(outbox_settled, what="the outbox counts")
        values = await scrape(hearth)
        assert values['hearth_events_total{outcome="handled"}'] == 2  # the command and the join
        journal = {k: values[f'hearth_event_journal_total{{outcome="{k}"}}'] for k in JOURNAL}
        # the retry stops at the journal (still there) or at the hub (already handled): once
        assert values['hearth_events_total{outcome="repeat"}'] + journal["duplicates"] == 1
        assert values['hearth_events_total{outcome="failed"}'] == 0
        assert (journal["refused"], journal["dead"]) == (0, 0)
        assert values['hearth_dead_letters{source="events"}'] == 0
        assert values['hearth_dead_letters{source="jobs"}'] == 0
        windows = [values[f'hearth_event_durable_seconds{{quantile="{q}"}}'] for q in QUANTILES]
        assert 0 < windows[0] <= windows[1] <= windows[2]  # the join's ack-to-commit window
        assert values['hearth_outbox_messages{status="pending"}'] == 1  # the 16:00 welcome post
        assert values['hearth_outbox_messages{status="failed"}'] == 0
        assert values['hearth_dead_letters{source="outbox"}'] == 0
        assert values["hearth_outbox_lag_seconds"] == 0  # the post is not due before 16:00
        for loop in ("outbox-sender", "scheduler", "event-journal"):
            assert values[f'hearth_loop_up{{loop="{loop}"}}'] == 1
            assert values[f'hearth_loop_restarts_total{{loop="{loop}"}}'] == 0
            assert values[f'hearth_loop_heartbeat_age_seconds{{loop="{loop}"}}'] >= 0
        assert hearth.fake.violations == []


@needs_spec
async def test_outbox_lag_and_dead_letters(sqlite_url: str) -> None:
    clock = SettableClock()
    async with running_hearth(sqlite_url, clock=clock) as hearth:
        await hearth.command("setup")
        hearth.fake.fail_next("chat.postMessage", error="channel_not_found")  # permanent
        joined = event_callback("member_joined_channel", user=NEWCOMER, channel=CHANNEL)
        await hearth.send_event(joined)

        async def dead_lettered() -> bool:
            return (await scrape(hearth)).get('hearth_dead_letters{source="outbox"}') == 1

        await eventually(dead_lettered, what="the welcome DM to be a dead letter")
        await hearth.supervisor.stop_loop("outbox-sender")  # nothing is delivered from now on
        clock.advance(hours=7, seconds=90)  # 16:01:30: the public welcome is 90 s late
        values = await scrape(hearth)
        assert values['hearth_outbox_messages{status="failed"}'] == 1
        assert values['hearth_outbox_messages{status="pending"}'] == 1
        assert values["hearth_outbox_lag_seconds"] == 90
        assert values['hearth_loop_up{loop="outbox-sender"}'] == 0


@needs_spec
async def test_job_runs_and_loop_restarts(sqlite_url: str) -> None:
    clock = SettableClock()
    async with running_hearth(
        sqlite_url, clock=clock, supervisor=Supervisor(first_backoff=0.01)
    ) as hearth:
        clock.advance(days=1)  # the daily housekeeping falls due
        hearth.supervisor.loop("scheduler").wake()  # type: ignore[attr-defined]

        async def ran() -> bool:
            return (await scrape(hearth)).get('hearth_job_runs_total{outcome="runs"}') == 1

        await eventually(ran, what="the purge to run")
        flaky = ScriptedLoop(RuntimeError("boom"))
        hearth.supervisor.add("flaky", flaky, stall_after=60)
        await eventually(lambda: flaky.runs == 2 and hearth.supervisor.status()["flaky"].running)
        values = await scrape(hearth)
        assert values['hearth_loop_restarts_total{loop="flaky"}'] == 1
        assert values['hearth_loop_up{loop="flaky"}'] == 1


@dataclass
class WorkerCounts:
    done: int = 0
    retried: int = 0
    dead: int = 0
    busy: bool = False  # not a number to count: left out


class Worker:
    def __init__(self) -> None:
        self.counts = WorkerCounts()


async def test_a_component_plugs_its_counts_in_with_one_line(db: object) -> None:
    metrics = Metrics(Supervisor())
    worker = Worker()
    metrics.count("worker_events", worker, "Events the worker finished.")  # the one line
    worker.counts.done, worker.counts.dead = 3, 1
    values = samples((await metrics.render(db, SettableClock().now())).decode())  # type: ignore[arg-type]
    assert {k: v for k, v in values.items() if k.startswith("hearth_worker")} == {
        'hearth_worker_events_total{outcome="done"}': 3,
        'hearth_worker_events_total{outcome="retried"}': 0,
        'hearth_worker_events_total{outcome="dead"}': 1,
    }
    assert values['hearth_dead_letters{source="outbox"}'] == 0  # the database is read too
    metrics.dead_letters("events", _three)
    again = samples((await metrics.render(db, SettableClock().now())).decode())  # type: ignore[arg-type]
    assert again['hearth_dead_letters{source="events"}'] == 3


async def _three(session: object) -> int:
    return 3


def test_the_registry_is_the_apps_own() -> None:
    metrics = Metrics(Supervisor())
    metrics.count("worker_events", Worker(), "Events the worker finished.")
    assert metrics.registry is not REGISTRY
    assert b"hearth_" in generate_latest(metrics.registry)
    assert b"hearth_" not in generate_latest(REGISTRY)  # nothing lands in the global default
