"""The hub: every event from every platform comes through `Hearth.handle`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from hearth.handlers import commands
from hearth.handlers.cards import Card
from hearth.handlers.context import Context, Defaults
from hearth.handlers.events import ActionClicked, CommandInvoked, Event, FormSubmitted
from hearth.handlers.ports import Clock, DeliveryError, Messenger
from hearth.handlers.registry import Registry
from hearth.storage.db import Database, insert_ignore
from hearth.storage.models import InboundEvent

log = logging.getLogger(__name__)


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

    async def handle(self, event: Event) -> bool:
        """Handle `event`; False when it was a repeat of one already handled."""
        messenger = self.messengers[event.platform]
        try:
            async with self.db.transaction() as session:
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
                    return False
                context = Context(
                    session, event, messenger, self.clock, self.registry, self.defaults
                )
                await self._route(context, event)
        except commands.CommandError as error:
            await self._answer(messenger, event, Card(_explain(error, messenger.command_prefix)))
            return True
        for reply in context.replies:
            try:
                await reply(messenger)
            except DeliveryError:
                log.warning(
                    "could not deliver a direct reply for %s", type(event).__name__, exc_info=True
                )
        if context.enqueued:
            self.on_enqueued()
        return True

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
