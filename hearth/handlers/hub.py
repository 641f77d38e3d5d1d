"""The hub: every event from every platform comes through `Hearth.handle`."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select, tuple_

from hearth.handlers import commands
from hearth.handlers.cards import Card
from hearth.handlers.context import (
    MEMBERS,
    PROFILES,
    Context,
    Defaults,
    MemberKey,
    ProfilesNeeded,
)
from hearth.handlers.events import ActionClicked, CommandInvoked, Event, FormSubmitted
from hearth.handlers.ports import Clock, DeliveryError, Messenger, Profile
from hearth.handlers.registry import Arrival, Registry
from hearth.storage import journal
from hearth.storage.db import Database, insert_ignore, insert_ignore_many
from hearth.storage.models import Community, InboundEvent, Member

log = logging.getLogger(__name__)

BATCH_LIMIT = 1000
"""Most events handled in one shared transaction (see `Hearth.handle`)."""
DIRECT = (CommandInvoked, ActionClicked, FormSubmitted)
"""Events a member is waiting on, with answers of their own: never batched."""
DIRECT_AT_ONCE = 8
"""Most transactions of events handled one by one at once: a crowd of clicks queues here, not
for the database's connection pool (whose wait times out)."""
PROFILE_LOOKUPS_AT_ONCE = 50
"""Most profile lookups in flight at once (beyond Slack's limit, a 429 has the event retried)."""
MET_LIMIT = 100_000
"""Most actors remembered in `Hearth._met`."""
PROFILE_ROUNDS = 4
"""How often one event may come back for profiles before that counts as its failure."""

T = TypeVar("T")
Profiles = dict[MemberKey, Profile | None]
Keep = Callable[[Event, BaseException], Awaitable[bool]]


@dataclass(eq=False)
class _Waiting:
    """An event queued for the next batch, and whoever waits for its outcome.

    `entry` is the event's journal entry (None: the event is not in the journal).
    """

    event: Event
    done: asyncio.Future[bool]
    entry: int | None = None
    over: bool = False


@dataclass
class Counts:
    """Events since start-up, by outcome (served at /metrics)."""

    handled: int = 0
    repeats: int = 0
    failed: int = 0


class Hearth:
    """Runs each event once, in one transaction; replies go out after it commits."""

    def __init__(
        self,
        db: Database,
        registry: Registry,
        messengers: Mapping[str, Messenger],
        clock: Clock,
        defaults: Defaults,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.messengers = messengers
        self.clock = clock
        self.defaults = defaults
        self.on_enqueued = on_enqueued
        self._waiting: list[_Waiting] = []
        self._batcher: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._direct = asyncio.Semaphore(DIRECT_AT_ONCE)
        self._lookups = asyncio.Semaphore(PROFILE_LOOKUPS_AT_ONCE)
        self._met: set[MemberKey] = set()
        """Actors of direct events this process has handled (their profile is not asked for
        in advance: they are most likely members already)."""
        self.keep: Keep | None = None
        """Where an event that failed while its sender waited goes to be tried again later
        (the event journal); None: the failure is the caller's (the console)."""
        self.counts = Counts()
        self.observers: list[Callable[[Event, bool | BaseException], None]] = []
        """Told each event's outcome: True handled, False a repeat, or the error."""
        self._idle = asyncio.Event()
        self._idle.set()

    async def handle(self, event: Event, *, alone: bool = False) -> bool:
        """Handle `event` and wait for it; False when it repeats one already handled.

        Listener events that arrive while a batch is running are handled together in the next
        one, which costs one commit and a few multi-row statements instead of a round of each
        per event. Should anything in a batch fail (on PostgreSQL, a deadlock with another
        replica's batch, say), it is rolled back and every event in it is handled again on its
        own. A batch runs in a task of its own; `alone` keeps the event in the caller's task,
        for an adapter whose messenger answers through the caller's context (a Teams turn).
        Commands, clicks and forms, which members wait on, are never batched.

        An event that fails goes to `keep` (True: it will be handled later) when there is one.
        """
        try:
            if not alone and self._batches(event):
                done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
                self._enqueue(event, done)
                return await done
            return await self._handle_direct(event)
        except Exception as error:
            if self.keep is not None and await self.keep(event, error):
                return True
            raise

    async def handle_stored(self, entries: list[tuple[int, Event]]) -> list[bool | BaseException]:
        """Handle events from the journal, each by its entry id, which the handling transaction
        deletes; each one's outcome (True handled, False a repeat, or its error)."""
        loop = asyncio.get_running_loop()
        waiting: list[asyncio.Future[bool]] = []
        for entry, event in entries:
            done: asyncio.Future[bool] = loop.create_future()
            self._enqueue(event, done, entry)
            waiting.append(done)
        return list(await asyncio.gather(*waiting, return_exceptions=True))

    async def _handle_direct(self, event: Event) -> bool:
        self._started()
        handled, error = False, None
        try:
            handled = await self._handle_one(event)
        except BaseException as caught:
            error = caught
            raise
        finally:
            self._finished(event, handled, error)
        return handled

    async def drain(self, timeout: float) -> bool:
        """Wait until no event is being handled (at shutdown); False if `timeout` ran out."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.error("shutting down with %d events still being handled", self._in_flight)
            return False
        return True

    def _batches(self, event: Event) -> bool:
        return not isinstance(event, DIRECT)

    def _enqueue(self, event: Event, done: asyncio.Future[bool], entry: int | None = None) -> None:
        self._started()
        self._waiting.append(_Waiting(event, done, entry))
        if self._batcher is None or self._batcher.done():
            self._batcher = asyncio.create_task(  # a fresh context: not the caller's transaction
                self._run_batches(), name="hearth-batches", context=contextvars.Context()
            )

    def _started(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def _finished(
        self, event: Event, handled: bool = False, error: BaseException | None = None
    ) -> None:
        """Count an event's outcome (/metrics), tell the observers, mark it no longer in flight."""
        if error is not None:
            self.counts.failed += 1
        elif handled:
            self.counts.handled += 1
        else:
            self.counts.repeats += 1
        try:
            for observe in self.observers:
                observe(event, handled if error is None else error)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    def _settle(
        self, item: _Waiting, handled: bool = False, error: BaseException | None = None
    ) -> None:
        """A batched event is over: count it, then tell whoever waits (or log a failure)."""
        if item.over:
            return
        item.over = True
        self._finished(item.event, handled, error)
        done = item.done
        if done.done():  # the caller gave up waiting
            return
        elif error is not None:
            done.set_exception(error)
        else:
            done.set_result(handled)

    async def _run_batches(self) -> None:
        while self._waiting:
            batch = self._waiting[:BATCH_LIMIT]
            del self._waiting[:BATCH_LIMIT]
            try:
                await self._handle_batch(batch)
            except Exception as error:  # an after-commit step failed: tell the rest of the batch
                for item in batch:
                    self._settle(item, error=error)
            except BaseException:  # cancelled (shutting down, `drain` ran out of time)
                abandoned = [item for item in batch + self._waiting if not item.over]
                self._waiting.clear()
                log.error("shutting down with %d events not handled", len(abandoned))
                for item in abandoned:
                    item.over = True
                    self._finished(item.event, error=asyncio.CancelledError())
                    item.done.cancel()
                raise

    async def _handle_batch(self, batch: list[_Waiting]) -> None:
        profiles: Profiles = {}
        try:
            contexts = await self._with_profiles(
                lambda: self._run_together(batch, profiles), profiles
            )
        except Exception as error:
            if len(batch) == 1:
                self._settle(batch[0], error=error)
                return
            log.warning(
                "a batch of %d events failed; handling each on its own", len(batch), exc_info=True
            )
            for item in batch:
                try:
                    handled = await self._handle_one(item.event, item.entry, profiles)
                except Exception as error:
                    self._settle(item, error=error)
                else:
                    self._settle(item, handled)
            return
        for item, context in zip(batch, contexts, strict=True):
            if context is not None:
                await self._after_commit(context)
            self._settle(item, context is not None)

    async def _with_profiles(self, attempt: Callable[[], Awaitable[T]], profiles: Profiles) -> T:
        """Run `attempt` (a transaction); when it needs profiles it was not given, fetch them
        with no transaction open and run it again."""
        for _ in range(PROFILE_ROUNDS):
            try:
                return await attempt()
            except ProfilesNeeded as needed:
                await self._fetch_profiles(needed.keys - profiles.keys(), profiles)
        return await attempt()

    async def _fetch_profiles(self, keys: set[MemberKey], profiles: Profiles) -> None:
        """Ask the platforms about `keys` (a few at a time) into `profiles`; the first failure
        is raised once every lookup has ended (those that worked are kept)."""

        async def look_up(key: MemberKey) -> None:
            platform, workspace, user = key
            async with self._lookups:
                profiles[key] = await self.messengers[platform].profile(workspace, user)

        outcomes = await asyncio.gather(*(look_up(key) for key in keys), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _run_together(
        self, batch: list[_Waiting], profiles: Profiles
    ) -> list[Context | None]:
        """Handle events in one transaction; None for each repeat."""
        contexts: list[Context | None] = []
        async with self.db.transaction() as session:
            room = BATCH_LIMIT - len(batch)  # our turn at last: take what arrived meanwhile
            batch += self._waiting[:room]
            del self._waiting[:room]
            events = [item.event for item in batch]
            session.info[PROFILES] = profiles
            now = self.clock.now()
            ours = await journal.finish(session, [i.entry for i in batch if i.entry is not None])
            keys = list(dict.fromkeys((e.platform, e.event_id) for e in events if e.event_id))
            new = await insert_ignore_many(
                session,
                InboundEvent,
                [{"platform": p, "event_id": i, "received_at": now} for p, i in keys],
                "platform",
                "event_id",
            )
            places = {(e.platform, e.workspace, e.channel) for e in events}
            communities = {
                (c.platform, c.workspace, c.channel): c
                for c in await session.scalars(
                    select(Community).where(
                        tuple_(Community.platform, Community.workspace, Community.channel).in_(
                            places
                        )
                    )
                )
            }
            people = {(e.platform, e.workspace, e.user) for e in events}
            known = session.info.setdefault(MEMBERS, {})  # what Context.member() looks in first
            for member in await session.scalars(
                select(Member).where(
                    tuple_(Member.platform, Member.workspace, Member.user_id).in_(people)
                )
            ):
                known[(member.platform, member.workspace, member.user_id)] = member
            arrivals = [
                Arrival(e, community, known.get((e.platform, e.workspace, e.user)))
                for e in events
                if (community := communities.get((e.platform, e.workspace, e.channel)))
            ]
            for preload in self.registry.preloaders:
                await preload(session, arrivals)
            try:
                for item in batch:
                    event = item.event
                    key = (event.platform, event.event_id)
                    if item.entry is not None and item.entry not in ours:
                        log.info("dropping %s event: another process handled it", event.platform)
                        contexts.append(None)
                        continue
                    if event.event_id and key not in new:
                        log.info("dropping repeated %s event %s", event.platform, event.event_id)
                        contexts.append(None)
                        continue
                    new.discard(key)  # a second copy in the same batch is a repeat too
                    context = Context(
                        session,
                        event,
                        self.messengers[event.platform],
                        self.clock,
                        self.registry,
                        self.defaults,
                    )
                    community = communities.get((event.platform, event.workspace, event.channel))
                    if community is not None:
                        context.community_set_up(community)
                    await self._route(context, event)
                    contexts.append(context)
            except ProfilesNeeded as needed:  # ask for every newcomer the batch likely needs
                likely = {
                    (e.platform, e.workspace, e.user)
                    for e in events
                    if (e.platform, e.workspace, e.channel) in communities
                    and (e.platform, e.workspace, e.user) not in known
                }
                raise ProfilesNeeded(needed.keys | (likely - profiles.keys())) from None
        return contexts

    async def _handle_one(
        self, event: Event, entry: int | None = None, profiles: Profiles | None = None
    ) -> bool:
        messenger = self.messengers[event.platform]
        fetched: Profiles = {} if profiles is None else profiles
        actor = (event.platform, event.workspace, event.user)
        if profiles is None and event.user and actor not in self._met:
            with contextlib.suppress(DeliveryError):  # a guess: asked again if really needed
                await self._fetch_profiles({actor}, fetched)

        async def attempt() -> Context | None:
            async with self._direct, self.db.transaction() as session:
                session.info[PROFILES] = fetched
                if entry is not None and not await journal.finish(session, [entry]):
                    log.info("dropping %s event: another process handled it", event.platform)
                    return None
                if event.event_id and not await insert_ignore(
                    session,
                    InboundEvent,
                    {
                        "platform": event.platform,
                        "event_id": event.event_id,
                        "received_at": self.clock.now(),
                    },
                ):
                    log.info("dropping repeated %s event %s", event.platform, event.event_id)
                    return None
                context = Context(
                    session, event, messenger, self.clock, self.registry, self.defaults
                )
                await self._route(context, event)
                return context

        try:
            context = await self._with_profiles(attempt, fetched)
        except commands.CommandError as error:
            if entry is not None:  # answered: done with, like a handled event
                async with self.db.transaction() as session:
                    await journal.finish(session, [entry])
            await self._answer(messenger, event, Card(_explain(error, messenger.command_prefix)))
            return True
        if context is None:
            return False
        if len(self._met) >= MET_LIMIT:
            self._met.clear()
        self._met.add(actor)
        await self._after_commit(context)
        return True

    async def _after_commit(self, context: Context) -> None:
        """Send the event's direct replies and wake the outbox sender if it wrote there."""
        for reply in context.replies:
            try:
                await reply(context.messenger)
            except DeliveryError:
                log.warning(
                    "could not deliver a direct reply for %s",
                    type(context.event).__name__,
                    exc_info=True,
                )
        if context.enqueued:
            self.on_enqueued()

    async def _route(self, context: Context, event: Event) -> None:
        match event:
            case CommandInvoked():
                await commands.run(context, event)
            case ActionClicked():
                run = self.registry.actions.get(event.action)
                if run is None:
                    raise commands.CommandError("That button no longer does anything, sorry.")
                await run(context, event)
            case FormSubmitted():
                run_form = self.registry.forms.get(event.form)
                if run_form is None:
                    raise commands.CommandError("That form has expired, sorry; please start again.")
                await run_form(context, event)
            case _:
                for listener in self.registry.listeners.get(type(event), []):
                    await listener(context, event)

    async def _answer(self, messenger: Messenger, event: Event, card: Card) -> None:
        try:
            await messenger.reply_privately(
                event.workspace, event.channel, event.user, card, event.reply_token
            )
        except DeliveryError:
            log.warning("could not deliver an error reply", exc_info=True)


def _explain(error: commands.CommandError, prefix: str) -> str:
    text = str(error)
    if isinstance(error, commands.UsageError):
        if error.command:
            text += f"\nUsage: `{prefix} {error.command.usage}`"
        else:
            text += f"\nTry `{prefix} help` to see what I can do."
    return text
