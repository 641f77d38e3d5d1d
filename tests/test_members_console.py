"""Members in control, as whole console transcripts: settings, quiet hours, forget-me, my-data.

Lurker nudges and expert routing do not exist yet, so `registry_with_dms` adds two test
commands that write a DM of kind `nudge` and one of kind `expert_request` for a member, the way
those features will, through the outbox.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select

from hearth.handlers import build_registry
from hearth.handlers.cards import Card
from hearth.handlers.commands import Args, mentioned_user
from hearth.handlers.context import Context
from hearth.handlers.ports import Target
from hearth.handlers.registry import Registry
from hearth.storage import outbox
from hearth.storage.db import Database
from hearth.storage.models import ForgottenMember, Member, Message, OutboxMessage
from tests.console_helpers import SHORT_WELCOME, expected, transcript


def registry_with_dms() -> Registry:
    """Every feature, plus `/cop nudge @someone` and `/cop expert @someone`."""
    registry = build_registry()

    async def send(context: Context, args: Args, kind: str, text: str) -> None:
        user = mentioned_user(args.tokens[0]) if args.tokens else None
        assert user, "mention someone"
        member = await context.member(user)
        await context.enqueue(
            f"{kind}:{member.id}:{uuid.uuid4().hex}",
            kind,
            Target("dm", member.user_id),
            Card(text.format(name=member.name)),
            member=member,
        )

    @registry.command("nudge", "@someone", summary="test: nudge someone")
    async def nudge(context: Context, args: Args) -> None:
        await send(context, args, "nudge", "{name}, a thread in #community could use you.")

    @registry.command("expert", "@someone", summary="test: ask someone as an expert")
    async def expert(context: Context, args: Args) -> None:
        await send(context, args, "expert_request", "{name}, you know RAID logs: could you help?")

    return registry


SETTINGS_FORM = (
    'form for @{who} "Your Hearth settings": pause (yes/no) = no, nudges (yes/no) = yes, '
    "expert_requests (yes/no) = yes, reminders (yes/no) = yes, "
    "timezone (text) = {zone}, working_hours (text), quiet_hours (text) = {quiet}, "
    "digest (one of off/daily/weekly/monthly) = off, away_until (text), "
    "segment (one of Delivery/Leadership), interests (any of Risk/Tools)"
)
DEFAULTS = {"zone": "UTC", "quiet": "21:00-08:00"}
BOB_WELCOME = """\
    * @bob joined #community
    [4] DM @bob bot: Hi Bob, welcome to #community!
        Which group are you in?
        [Delivery] [Leadership]
        What would you like to hear about? Pick any.
        [Risk] [Tools]
        (You're getting this because you joined #community.)
        [Stop messages from Hearth]
    """


async def run(db: Database, script: str, **options: Any) -> str:
    """The transcript after the setup lines (SHORT_WELCOME), from the first newcomer on."""
    out = await transcript(db, SHORT_WELCOME + script, registry=registry_with_dms(), **options)
    return out[out.index("* @") :]


async def test_opting_out_of_nudges_stops_nudges_not_the_expert_requests(db: Database) -> None:
    out = await run(
        db,
        """
        bob joins
        bob: /cop settings
        bob submits 5 nudges=no
        facilitator: /cop nudge @bob
        facilitator: /cop expert @bob
        bob: /cop optout
        facilitator: /cop expert @bob
        bob: /cop optin
        facilitator: /cop nudge @bob
        facilitator: /cop expert @bob
        """,
    )
    assert out == expected(
        BOB_WELCOME,
        f"""\
        [5] {SETTINGS_FORM.format(who="bob", **DEFAULTS)}
        [6] (only @bob) bot: Saved. Your settings now:
            Messages Hearth starts on its own: on
            Direct messages: nudges off · expert requests on · reminders on
            Time zone: UTC
            Working hours: any time
            Quiet hours: 21:00-08:00
            Community digest by DM: off
            Group: not chosen
            Interests: none chosen
        [7] DM @bob bot: Bob, you know RAID logs: could you help?
        [8] (only @bob) bot: Done: Hearth won't send you anything you didn't ask for.
            (Answers to your own commands still reach you. `/cop optin` lets Hearth message you again.)
        [9] (only @bob) bot: Done: Hearth may message you again, as your settings say.
            Messages Hearth starts on its own: on
            Direct messages: nudges off · expert requests on · reminders on
            Time zone: UTC
            Working hours: any time
            Quiet hours: 21:00-08:00
            Community digest by DM: off
            Group: not chosen
            Interests: none chosen
        [10] DM @bob bot: Bob, you know RAID logs: could you help?
        """,
    )
    async with db.transaction() as session:
        skipped = list(
            await session.execute(
                select(OutboxMessage.kind, OutboxMessage.last_error)
                .where(OutboxMessage.status == outbox.SKIPPED)
                .order_by(OutboxMessage.id)
            )
        )
    assert skipped == [
        ("nudge", "turned off nudges"),
        ("expert_request", "paused all messages"),
        ("nudge", "turned off nudges"),
    ]


async def test_quiet_hours_delay_a_dm_to_the_next_allowed_time(db: Database) -> None:
    """Bob in New York keeps 20:00-09:30 quiet: a request at 04:00 his time waits until 09:30;
    when he shortens his quiet hours, the one held back at 21:00 goes out at once."""
    out = await run(
        db,
        """
        bob joins
        bob: /cop settings
        bob submits 5 timezone=America/New_York quiet_hours="20:00-9:30"
        facilitator: /cop expert @bob
        wait 8h
        facilitator: /cop expert @bob
        wait 9h
        facilitator: /cop expert @bob
        bob: /cop settings
        bob submits 10 quiet_hours="22:00-06:00"
        """,
    )
    assert out == expected(
        BOB_WELCOME,
        f"""\
        [5] {SETTINGS_FORM.format(who="bob", **DEFAULTS)}
        [6] (only @bob) bot: Saved. Your settings now:
            Messages Hearth starts on its own: on
            Direct messages: nudges on · expert requests on · reminders on
            Time zone: America/New_York (your choice)
            Working hours: any time
            Quiet hours: 20:00-09:30
            Community digest by DM: off
            Group: not chosen
            Interests: none chosen
        -- 2026-12-01 14:30 UTC --
        [7] DM @bob bot: Bob, you know RAID logs: could you help?
        -- 2026-12-01 16:00 UTC --
        [8] #community bot: 🎉 Please welcome our newest member: @bob!
            (Say hello in the thread — and newcomers, tell us what you work on.)
        -- 2026-12-01 17:00 UTC --
        [9] DM @bob bot: Bob, you know RAID logs: could you help?
        -- 2026-12-02 02:00 UTC --
        [10] {SETTINGS_FORM.format(who="bob", zone="America/New_York", quiet="20:00-09:30")}
        [11] (only @bob) bot: Saved. Your settings now:
            Messages Hearth starts on its own: on
            Direct messages: nudges on · expert requests on · reminders on
            Time zone: America/New_York (your choice)
            Working hours: any time
            Quiet hours: 22:00-06:00
            Community digest by DM: off
            Group: not chosen
            Interests: none chosen
        [12] DM @bob bot: Bob, you know RAID logs: could you help?
        """,
    )


async def test_forget_me_then_silence(db: Database) -> None:
    out = await run(
        db,
        """
        facilitator: /cop poll "Lunch?" "Pizza" "Salad"
        zelda joins
        zelda clicks "Pizza" on 5
        zelda: Hello all, I run the RAID clinic
        alice in thread 9: Thanks @zelda, see you there
        zelda: /cop forget-me
        zelda clicks "Yes, forget me" on 13
        facilitator: /cop nudge @zelda
        wait 1d
        """,
    )
    assert out[out.index("[9]") :] == expected(
        """\
        [9] #community @zelda: Hello all, I run the RAID clinic
        [10] #community thread [9] bot: Welcome to the conversation, @zelda! 🎉 Thanks for your first post here — every question and every story helps someone.
        [11] DM @facilitator bot: @zelda just posted for the first time in #community 🎉
            They joined today. A hello from you would mean a lot.
            (Only facilitators get this.)
        [12] #community thread [9] @alice: Thanks @zelda, see you there
        [13] (only @zelda) bot: Forget you? This can't be undone.
            Hearth will delete your profile and settings, your community memberships and facilitator roles, the messages it sent you, your votes and survey answers that carry your name, and your name and mentions of you wherever it stored them. Its copies of messages you wrote lose their text (the messages stay where you posted them, for you to delete there).
            Afterwards Hearth treats you as a stranger and never messages you unprompted, unless you ask it to with `/cop optin`.
            (`/cop my-data` first, if you'd like a copy.)
            [Yes, forget me] [Cancel]
        [14] (update of [13]) (only @zelda) bot: Done: Hearth has forgotten you.
            (It keeps no name or id of yours, only a note it cannot read back, so that it stays silent if you come back. `/cop optin` ends that.)
        -- 2026-12-01 09:00:02 UTC --
        [15] (update of [8]) #community bot: 📊 Lunch?
            Pizza 0 · 0%
            Salad 0 · 0%
            [Pizza] [Salad]
            (Poll #1 by @facilitator · choose one · 0 votes)
        """
    )  # no welcome post names her, no nudge reaches her
    async with db.transaction() as session:
        texts = list(await session.scalars(select(Message.text).order_by(Message.id)))
        authors = list(await session.scalars(select(Message.member_id).order_by(Message.id)))
        nudge = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "nudge"))
        zelda = await session.scalar(select(Member).where(Member.user_id == "zelda"))
        forgotten = await session.scalar(select(func.count()).select_from(ForgottenMember))
    assert texts == [None, "Thanks a former member, see you there"]
    assert authors[0] is None and authors[1] is not None
    assert nudge is not None and (nudge.status, nudge.last_error) == (
        outbox.SKIPPED,
        "paused all messages",
    )
    # the nudge named her: she is a stranger again, who asked for silence
    assert zelda is not None and zelda.unsolicited_dms_off and forgotten == 1


async def test_my_data_is_a_file_of_everything_stored(db: Database) -> None:
    out = await run(
        db,
        """
        zelda joins
        zelda clicks "Leadership" on 4
        zelda: /cop settings
        zelda submits 6 quiet_hours=off interests=Risk,Tools timezone=Europe/Paris
        zelda: Hello all, I run the RAID clinic
        zelda: /cop my-data
        """,
    )
    file = out[out.index("[11]") :]  # [9] her post, [10] its celebration
    head, _, body = file.partition("\n")
    assert head.startswith("[11] (only @zelda) bot: Everything Hearth stores about you [file ")
    assert head.endswith(" bytes]")
    assert json.loads(body) == {
        "about": (
            "What Hearth stores about you (console console), as of 2026-12-01T09:00:00+00:00."
        ),
        "not_included": (
            "Votes and survey answers you gave anonymously: Hearth stores them without anything "
            "that links them to you, so it cannot tell which are yours."
        ),
        "profile": {
            "platform": "console",
            "workspace": "console",
            "user_id": "zelda",
            "name": "Zelda",
            "time_zone_from_platform": None,
            "bot": False,
            "deactivated": False,
            "first_seen": "2026-12-01T09:00:00+00:00",
            "group": "Leadership",
            "interests": ["Risk", "Tools"],
        },
        "settings": {
            "messages_paused": False,
            "direct_messages": {
                "nudges": True,
                "expert_requests": True,
                "digests": False,
                "reminders": True,
            },
            "time_zone": "Europe/Paris",
            "time_zone_is_your_choice": True,
            "working_hours": None,
            "quiet_hours": None,
            "digest": "off",
            "away_until": None,
        },
        "communities": [
            {"community": "#community", "joined": "2026-12-01T09:00:00+00:00", "left": None}
        ],
        "facilitator_of": [],
        "articles_suggested": [],
        "messages": [
            {
                "community": "#community",
                "posted": "2026-12-01T09:00:00+00:00",
                "in_a_thread": False,
                "text": "Hello all, I run the RAID clinic",
                "edited": None,
                "deleted": None,
                "text_removed_by_retention": None,
            }
        ],
        "messages_from_hearth": [
            {
                "kind": "welcome",
                "status": "sent",
                "due": "2026-12-01T09:00:00+00:00",
                "sent": "2026-12-01T09:00:00+00:00",
            }
        ],
        "facilitator_actions": [],
        "polls_started": [],
        "poll_votes": [],
        "survey_answers": [],
        "questions": [],
        "expertise": {  # her interests seed what she is known for
            "topics": [
                {
                    "community": "#community",
                    "topic": topic,
                    "source": "interest",
                    "added": "2026-12-01T09:00:00+00:00",
                }
                for topic in ("Risk", "Tools")
            ],
            "answering": [],
            "first_picks_awaiting_answers": [],
        },
        "first_posts_and_nudges": {
            "posted": [
                {
                    "community": "#community",
                    "first_posted": "2026-12-01T09:00:00+00:00",
                    "last_posted": "2026-12-01T09:00:00+00:00",
                }
            ],
            "nudges": [],
        },
        "library": [],
        "jobs": [],
        "hotseats": {"as_expert": [], "questions": []},
    }
