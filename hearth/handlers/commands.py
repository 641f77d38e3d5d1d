"""The `/cop` grammar: one parser for Slack's slash command, Teams' @mention and the console.

Arguments are words separated by spaces; double quotes (straight or typographic, “like this”)
group words into one argument, and `\\"` inside quotes is a literal quote. A quoted argument is
a whole argument: it starts after a space (or after `=` in `--flag="…"`) and its closing quote
is followed by a space or the end. Anything else (an unclosed quote, `"a"b`) is a usage error,
never repaired. Apostrophes are ordinary letters (`don't` is one word). Free text (`welcome
set`, `purpose set`) is taken as typed unless it starts with a quote, when it must be one quoted
argument. Numbers are ASCII digits, bounded by `MAX_NUMBER`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from hearth.handlers import audit
from hearth.handlers.cards import typed
from hearth.handlers.events import CommandInvoked
from hearth.handlers.registry import Command, Registry
from hearth.storage.models import Community, Member, Membership

if TYPE_CHECKING:
    from hearth.handlers.context import Context

MENTION = re.compile(r"^<@([^|>\s]{1,255})(?:\|[^>]*)?>$")
OPENING = '"“”„'
CLOSING = '"“”'
MAX_NUMBER = 2**31 - 1
"""The largest number a command takes: ids are 32-bit integers in the database."""
NUMBER = re.compile(r"[0-9]{1,10}", re.ASCII)
MAX_TEXT = 4000
"""The longest command text read: Slack's own limit for a slash command's text."""


class CommandError(Exception):
    """A command could not run; `str(error)` is what the member is told."""


class UsageError(CommandError):
    """Wrong arguments: the reply adds the command's usage line."""

    def __init__(self, message: str, command: Command | None = None) -> None:
        super().__init__(message)
        self.command = command


@dataclass(frozen=True)
class Word:
    """One argument: its text, and whether it was quoted (a quoted `--multi` is text)."""

    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Args:
    """A command's arguments: `text` as typed, `words`/`tokens` split by the grammar above."""

    text: str

    @property
    def words(self) -> list[Word]:
        return split_words(self.text)

    @property
    def tokens(self) -> list[str]:
        return [w.text for w in self.words]

    def one_text(self) -> str:
        """Free text (a welcome message, a purpose): as typed, quotes inside it included; or,
        when it starts with a quote, the one quoted argument it must then be."""
        text = self.text.strip()
        if not text or text[0] not in OPENING:
            return text
        words = self.words
        if len(words) != 1 or not words[0].quoted:
            raise UsageError(
                "Put the whole text in one pair of quotes, or leave the quotes out: "
                f"“{_fragment(text, 0)}”."
            )
        return words[0].text

    def one_number(self, problem: str, *, prefix: str = "#") -> int:
        """The one argument as a number (`4` or `#4`); UsageError(`problem`) otherwise."""
        tokens = self.tokens
        if len(tokens) != 1:
            raise UsageError(problem)
        token = tokens[0]
        if token[:1].upper() == prefix.upper():
            token = token[1:]
        value = number(token)
        if value is None:
            raise UsageError(problem)
        return value


def number(text: str, maximum: int = MAX_NUMBER) -> int | None:
    """`text` as a whole number from 0 to `maximum` in ASCII digits, else None."""
    if not NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if value <= maximum else None


def visible(text: str) -> str:
    """`text` with runs of whitespace as one space and invisible characters (zero-width
    spaces and other format characters) removed; "" when nothing visible is left."""
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cc") or c.isspace())
    return " ".join(kept.split())


def split_words(text: str) -> list[Word]:
    """The grammar's words; raises UsageError saying what to fix."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"That is too long for a command; keep it under {MAX_TEXT} characters.")
    words: list[Word] = []
    position, end = 0, len(text)
    while True:
        while position < end and text[position].isspace():
            position += 1
        if position >= end:
            return words
        start = position
        while position < end and not text[position].isspace() and text[position] not in OPENING:
            position += 1
        bare = text[start:position]
        if position >= end or text[position].isspace():
            words.append(Word(bare))
            continue
        if bare and not (bare.endswith("=") and bare[:1] in "-—–"):
            raise UsageError(
                f"Quotes go around a whole argument, with a space before them: "
                f"“{_fragment(text, start)}”."
            )
        value, position = _quoted(text, position)
        if position < end and not text[position].isspace():
            raise UsageError(f"Put a space after the closing quote: “{_fragment(text, start)}”.")
        words.append(Word(bare + value, quoted=not bare))


def _quoted(text: str, position: int) -> tuple[str, int]:
    """The quoted text starting at the quote at `position`, and where it ends."""
    chars: list[str] = []
    index = position + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in OPENING + CLOSING:
            chars.append(text[index + 1])
            index += 2
            continue
        if char in CLOSING:
            return "".join(chars), index + 1
        chars.append(char)
        index += 1
    raise UsageError(
        f"A quote isn't closed: “{_fragment(text, position)}” needs a closing \" at its end."
    )


def _fragment(text: str, start: int) -> str:
    piece = " ".join(text[start : start + 40].split())
    return piece + ("…" if len(text) > start + 40 else "")


def parse(registry: Registry, text: str) -> tuple[Command, Args]:
    """Split `text` into the longest registered command name and its arguments."""
    if any(_unreadable(c) for c in text):
        raise UsageError(
            "That has a character I can't read (a control character or half of an emoji); "
            "type it again."
        )
    words = text.split()
    if not words:
        return registry.commands["help"], Args("")
    lowered = [w.lower() for w in words]
    for length in range(min(len(words), 3), 0, -1):
        command = registry.commands.get(" ".join(lowered[:length]))
        if command:
            rest = re.match(r"\s*" + r"\S+\s*" * length, text)
            return command, Args(text[rest.end() if rest else len(text) :].strip())
    group = [c for c in registry.commands.values() if c.name.split()[0] == lowered[0]]
    if group:
        usages = ", ".join(f"`{c.usage}`" for c in group)
        raise UsageError(f"`{_clip(lowered[0])}` needs one of: {usages}.")
    raise UsageError(f"I don't know the command `{_clip(words[0])}`.")


def _unreadable(char: str) -> bool:
    category = unicodedata.category(char)
    return category == "Cs" or (category == "Cc" and char not in "\t\n\r")


def _clip(word: str) -> str:
    word = word.replace("`", "'")
    return word if len(word) <= 30 else word[:29] + "…"


def mentioned_user(token: str) -> str | None:
    """The user id in a mention token such as `<@U123|alice>`, or None."""
    match = MENTION.match(token)
    return match.group(1) if match else None


async def run(context: Context, event: CommandInvoked) -> None:
    """Parse and run a command, checking that it is run where and by whom it may be."""
    command, args = parse(context.registry, event.text)
    if not command.args and args.text:
        raise UsageError(
            f"`{command.name}` takes nothing after it; type just `{context.prefix} "
            f"{command.name}`.",
            command,
        )
    if command.needs_community:
        community = await context.community()
        if community is None and event.is_dm:
            community = await _community_for_dm(context, command)
        if community is None:
            raise CommandError(
                f"This channel isn't a community yet. A facilitator can run "
                f"`{context.prefix} setup` here to make it one."
            )
        if command.facilitator_only and not await context.is_facilitator(
            community, await context.member()
        ):
            raise CommandError(
                f"Sorry, only facilitators of {typed(community.name)} can use "
                f"`{context.prefix} {command.name}`."
            )
    audit.start(context)
    try:
        await command.run(context, args)
    except UsageError as error:
        error.command = error.command or command
        raise
    if command.audited and audit.changed(context):
        await audit.record_command(context, command, args)


async def _community_for_dm(context: Context, command: Command) -> Community:
    """In a DM with Hearth: the community of the member's (the only one they are in)."""
    event = context.event
    communities = list(
        await context.session.scalars(
            select(Community)
            .join(Membership, Membership.community_id == Community.id)
            .join(Member, Member.id == Membership.member_id)
            .where(
                Community.platform == event.platform,
                Community.workspace == event.workspace,
                Member.platform == event.platform,
                Member.workspace == event.workspace,
                Member.user_id == event.user,
                Membership.left_at.is_(None),
            )
            .order_by(Community.name, Community.id)
        )
    )
    if not communities:
        raise CommandError(
            f"`{context.prefix} {command.name}` is about a community, and you aren't in one "
            "yet: join a community's channel first."
        )
    if len(communities) > 1:
        names = ", ".join(typed(c.name) for c in communities)
        raise CommandError(
            f"You're in several communities ({names}); run `{context.prefix} {command.name}` "
            "in the channel of the one you mean."
        )
    context.community_set_up(communities[0])
    return communities[0]
