"""Expertise commands as console transcripts: declaring, assigning, listing who knows what
(declared, assigned and learned from replies), the welcome's interests, forget-me."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from hearth.bot.console.session import ConsoleSession
from hearth.handlers.context import Defaults
from hearth.handlers.expertise import record_accepted, record_question, record_reply
from hearth.storage.db import Database
from hearth.storage.models import AuditEntry, Community, ExpertTerm, ExpertTopic, Member
from tests.console_helpers import SHORT_WELCOME, START, expected, transcript


async def test_members_declare_and_facilitators_assign_expertise(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice joins
        bob joins
        alice: /cop expertise add "Benefits  realisation"
        alice: /cop expertise add benefits realisation
        alice: /cop expertise add
        alice: /cop expertise add "!!!"
        alice: /cop expertise add <@bob> *bold*
        alice: /cop expertise list
        bob: /cop expert add @alice "assurance"
        facilitator: /cop expert add @bob "Assurance"
        facilitator: /cop expert add "assurance"
        facilitator: /cop expert add @bob
        facilitator: /cop experts assurance
        bob: /cop experts benefits
        bob: /cop experts knitting
        alice: /cop expertise remove "benefits realisation"
        alice: /cop expertise remove "benefits realisation"
        facilitator: /cop expert remove @bob "assurance"
        alice: /cop expertise list
        """,
    )
    assert out[out.index("[3]") :] == expected(
        """\
        [3] (only @alice) bot: Noted: you know Benefits realisation. Questions about it may come your way.
        [4] (only @alice) bot: You're already down for benefits realisation. Questions about it may come your way.
        [5] (only @alice) bot: Say which topic, like `"benefits realisation"`.
            Usage: `/cop expertise add "<topic>"`
        [6] (only @alice) bot: Name the topic in words, like `"benefits realisation"`.
            Usage: `/cop expertise add "<topic>"`
        [7] (only @alice) bot: Noted: you know @bob *bold*. Questions about it may come your way.
        [8] (only @alice) bot: Your topics in #community:
            • @bob *bold* (you said so)
            • Benefits realisation (you said so)
        [9] (only @bob) bot: Sorry, only facilitators of #community can use `/cop expert add`.
        [10] (only @facilitator) bot: @bob now knows Assurance.
        [11] (only @facilitator) bot: Mention one person, then the topic: `@alex "assurance"`.
            Usage: `/cop expert add @someone "<topic>"`
        [12] (only @facilitator) bot: Add the topic after the mention: `@alex "assurance"`.
            Usage: `/cop expert add @someone "<topic>"`
        [13] (only @facilitator) bot: Who knows assurance in #community:
            • @bob: knows Assurance
        [14] (only @bob) bot: Who knows benefits in #community:
            • @alice: knows Benefits realisation
        [15] (only @bob) bot: Nobody here is known for knitting yet. Know it? `/cop expertise add "<topic>"` says so.
        [16] (only @alice) bot: Removed: benefits realisation.
        [17] (only @alice) bot: You're not down for benefits realisation here (`/cop expertise list` shows your topics).
        [18] (only @facilitator) bot: @bob is no longer down for assurance.
        [19] (only @alice) bot: Your topics in #community:
            • @bob *bold* (you said so)
        """
    )
    async with db.transaction() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        left = await session.scalar(select(func.count()).select_from(ExpertTerm))
    assert actions[-2:] == ["expert add", "expert remove"]
    assert left == 2  # alice's remaining topic's terms ("bob", "bold"); removed ones are gone


async def test_topics_are_bounded_and_checked(db: Database) -> None:
    long = "x" * 61
    out = await transcript(
        db, f'alice: /cop expertise add "{long}"\nalice: /cop expertise list now'
    )
    assert "That topic is 61 characters; keep it under 60." in out
    assert "`expertise list` takes nothing after it" in out


async def test_learned_expertise_and_interests_show_in_experts(db: Database) -> None:
    session = ConsoleSession(db, START, (lines := []).append, Defaults("UTC"))
    await session.start()
    for line in (SHORT_WELCOME + "alice joins\nbob joins\ncarol joins\n").splitlines():
        await session.run_line(line)
    async with db.transaction() as tx:
        community = await tx.scalar(select(Community))
        ids = {user: id_ for user, id_ in await tx.execute(select(Member.user_id, Member.id))}
        assert community is not None
        for n in range(3):  # bob answers RAID log questions; his answer was accepted once
            key = f"q{n}"
            at = START + timedelta(minutes=n)
            await record_question(
                tx,
                community_id=community.id,
                question_key=key,
                asker_id=ids["alice"],
                text=f"How do you keep a RAID log {n}?",
                at=at,
            )
            await record_reply(
                tx, community_id=community.id, question_key=key, replier_id=ids["bob"], at=at
            )
        await record_accepted(
            tx, community_id=community.id, question_key="q0", answerer_id=ids["bob"], at=START
        )
    script = """\
        carol clicks "Risk" on 6
        carol: /cop experts risk
        alice: /cop experts RAID logs
        bob: /cop expertise list
        carol clicks "Risk" on 6
        carol: /cop experts risk
        """
    for line in expected(script).splitlines():
        await session.run_line(line)
    out = "\n".join(lines) + "\n"
    assert out[out.index("[7]") :] == expected(
        """\
        [7] (update of [6]) DM @carol bot: Hi Carol, welcome to #community!
            Which group are you in?
            [Delivery] [Leadership]
            What would you like to hear about? Pick any.
            [✓ Risk] [Tools]
            (You're getting this because you joined #community.)
            [Stop messages from Hearth]
        [8] (only @carol) bot: Who knows risk in #community:
            • @carol: knows Risk
        [9] (only @alice) bot: Who knows RAID logs in #community:
            • @bob: answered questions on this before (3 answers in all)
        [10] (only @bob) bot: Your topics in #community:
            No topics yet: `/cop expertise add "<topic>"` adds one.
            You've answered 3 questions here (1 marked as the answer).
        [11] (update of [7]) DM @carol bot: Hi Carol, welcome to #community!
            Which group are you in?
            [Delivery] [Leadership]
            What would you like to hear about? Pick any.
            [Risk] [Tools]
            (You're getting this because you joined #community.)
            [Stop messages from Hearth]
        [12] (only @carol) bot: Nobody here is known for risk yet. Know it? `/cop expertise add "<topic>"` says so.
        """
    )


async def test_forget_me_erases_expertise(db: Database) -> None:
    out = await transcript(
        db,
        """
        alice joins
        alice: /cop expertise add "assurance"
        alice: /cop forget-me
        alice clicks "Yes, forget me" on 3
        bob: /cop experts assurance
        """,
    )
    assert "Nobody here is known for assurance yet." in out
    async with db.transaction() as session:
        topics = await session.scalar(select(func.count()).select_from(ExpertTopic))
        terms = await session.scalar(select(func.count()).select_from(ExpertTerm))
    assert (topics, terms) == (0, 0)
