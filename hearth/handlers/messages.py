"""The community's memory: every channel message, reply, edit and deletion."""

from __future__ import annotations

from sqlalchemy import update

from hearth.handlers.cards import Card
from hearth.handlers.context import Context
from hearth.handlers.events import MessageDeleted, MessageEdited, MessagePosted
from hearth.handlers.registry import Registry
from hearth.storage.db import insert_ignore_later
from hearth.storage.models import Message


def register(registry: Registry) -> None:
    registry.on(MessagePosted)(on_message)
    registry.on(MessageEdited)(on_edit)
    registry.on(MessageDeleted)(on_delete)


async def on_message(context: Context, event: MessagePosted) -> None:
    if event.is_dm:
        if not event.from_bot:
            context.reply_privately(
                Card(
                    f"Hi! I'm Hearth, the community's helper. Type `{context.prefix} help` to see "
                    "what I can do — and ask your questions in the community channel: "
                    "no question is too small."
                )
            )
        return
    community = await context.community()
    if community is None:
        return
    member = await context.member()
    insert_ignore_later(
        context.session,
        Message,
        {
            "community_id": community.id,
            "member_id": member.id,
            "message_id": event.message_id,
            "thread_id": event.thread_id,
            "text": event.text,
            "from_bot": event.from_bot or member.is_bot,
            "posted_at": event.at,
        },
    )


async def on_edit(context: Context, event: MessageEdited) -> None:
    await _change(context, event.message_id, text=event.text, edited_at=event.at)


async def on_delete(context: Context, event: MessageDeleted) -> None:
    """Deleted means deleted: the text goes, the fact that a message existed stays."""
    await _change(context, event.message_id, text=None, deleted_at=event.at)


async def _change(context: Context, message_id: str, **values: object) -> None:
    community = await context.community()
    if community is None:
        return
    await context.session.execute(
        update(Message)
        .where(Message.community_id == community.id, Message.message_id == message_id)
        .values(**values)
    )
