"""The `/cop` grammar: one parser for Slack's slash command, Teams' @mention and the console."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hearth.handlers import audit
from hearth.handlers.events import CommandInvoked
from hearth.handlers.registry import Command, Registry

if TYPE_CHECKING:
    from hearth.handlers.context import Context

MENTION = re.compile(r"^<@([^|>\s]+)(?:\|[^>]*)?>$")


class CommandError(Exception):
    """A command could not run; `str(error)` is what the member is told."""


class UsageError(CommandError):
    """Wrong arguments: the reply adds the command's usage line."""

    def __init__(self, message: str, command: Command | None = None) -> None:
        super().__init__(message)
        self.command = command


@dataclass(frozen=True)
class Args:
    """A command's arguments: `text` as typed, `tokens` split shell-style (quotes group words)."""

    text: str

    @property
    def tokens(self) -> list[str]:
        try:
            return shlex.split(self.text)
        except ValueError as error:
            raise UsageError(f"I couldn't read that: {error}.") from error


def parse(registry: Registry, text: str) -> tuple[Command, Args]:
    """Split `text` into the longest registered command name and its arguments."""
    words = text.split()
    if not words:
        return registry.commands["help"], Args("")
    lowered = [w.lower() for w in words]
    for length in range(len(words), 0, -1):
        command = registry.commands.get(" ".join(lowered[:length]))
        if command:
            rest = re.match(r"\s*" + r"\S+\s*" * length, text)
            return command, Args(text[rest.end() if rest else len(text) :].strip())
    group = [c for c in registry.commands.values() if c.name.split()[0] == lowered[0]]
    if group:
        usages = ", ".join(f"`{c.usage}`" for c in group)
        raise UsageError(f"`{lowered[0]}` needs one of: {usages}.")
    raise UsageError(f"I don't know the command `{words[0]}`.")


def mentioned_user(token: str) -> str | None:
    """The user id in a mention token such as `<@U123|alice>`, or None."""
    match = MENTION.match(token)
    return match.group(1) if match else None


async def run(context: Context, event: CommandInvoked) -> None:
    """Parse and run a command, checking that it is run where and by whom it may be."""
    command, args = parse(context.registry, event.text)
    if command.needs_community:
        community = await context.community()
        if community is None:
            raise CommandError(
                f"This channel isn't a community yet. A facilitator can run "
                f"`{context.prefix} setup` here to make it one."
            )
        if command.facilitator_only and not await context.is_facilitator(
            community, await context.member()
        ):
            raise CommandError(
                f"Sorry, only facilitators of {community.name} can use "
                f"`{context.prefix} {command.name}`."
            )
    try:
        await command.run(context, args)
    except UsageError as error:
        error.command = error.command or command
        raise
    if command.audited:
        await audit.record_command(context, command, args)
