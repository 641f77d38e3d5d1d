"""The interactive console: script lines typed one at a time, with help for a newcomer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from hearth.bot.console import script
from hearth.bot.console.session import FACILITATOR, ConsoleSession

GREETING = (
    "Type what people do, one line at a time: `alice joins`, `alice: hello`, "
    f"`{FACILITATOR}: /cop help`, `wait 1d`. `help` shows every kind of line; Ctrl-D quits."
)
HELP = f"""\
Each line is one thing someone does (any name is a member of the workspace; you start as the
facilitator of #community, `{FACILITATOR}`):
  alice joins / alice leaves                  alice joins or leaves #community
  alice: some text                            alice posts in #community
  alice: /cop poll "Lunch?" "Pizza" "Salad"   alice runs a Hearth command (`/cop help` lists them)
  /cop help                                   the same, as {FACILITATOR}
  alice in thread 3: some text                alice replies in the thread of item [3]
  alice dm: some text                         alice writes to Hearth directly
  alice clicks "Pizza" on 3                   alice clicks a button on item [3]
  alice reacts :tada: on 3                    alice reacts to item [3]
  alice submits 5 question="Why?" multi=yes  alice submits the form [5]
  alice tz Europe/London                      alice's time zone
  wait 90m / wait 4h / wait 2d / wait 1w      let time pass: what falls due happens
  restart / restart after 6h                  Hearth restarts on the same database (down 6h)
Numbers in [brackets] are items of the transcript; `# …` is a comment."""


async def run(session: ConsoleSession, read: Callable[[], Awaitable[str]] | None = None) -> None:
    """Read lines until end of input (`read` raises EOFError), running each in `session`."""
    read = read or _prompt
    session.write(GREETING)
    while True:
        try:
            line = await read()
        except EOFError:
            session.write("")
            return
        await run_line(session, line)


async def run_line(session: ConsoleSession, line: str) -> None:
    """One typed line: `help`, a bare `/cop …` (the facilitator's), or a script line."""
    typed = line.strip()
    if typed.lower() in ("help", "?", "/help"):
        session.write(HELP)
        return
    if typed.startswith("/cop"):
        typed = f"{FACILITATOR}: {typed}"
    before = session.clock.now()
    try:
        await session.run_line(typed)
    except script.ScriptError as error:
        session.write(f"! {error} (`help` shows how to write a line)")
        return
    untold = session.untold_time()
    if session.clock.now() != before and untold is not None:  # a wait that printed nothing
        session.write(f"(it is now {untold})")


async def _prompt() -> str:
    return await asyncio.to_thread(input, "> ")
