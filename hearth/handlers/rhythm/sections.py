"""The rhythm's own digest sections, and the per-thread counters behind the liveliest threads.

The counters are kept as messages arrive (a listener on MessagePosted): each thread's replies,
distinct participants and last activity. Ranking a period's threads reads the threads active
in it through an index, never the message history.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hearth.handlers.cards import typed
from hearth.handlers.context import Context
from hearth.handlers.events import MessagePosted
from hearth.handlers.poll_cards import label
from hearth.handlers.registry import DigestItem, DigestPeriod, DigestSection, Registry
from hearth.handlers.rhythm import articles, dates, themes
from hearth.storage import polls as stored_polls
from hearth.storage import rhythm as stored
from hearth.storage.models import Community, OutboxMessage

THREADS_SHOWN = 10
NEWCOMERS_SHOWN = 12
POLLS_SHOWN = 10
EXCERPT = 90


def register(registry: Registry) -> None:
    registry.on(MessagePosted)(count_message)
    registry.digest_section("rhythm.month", order=5)(this_month)
    registry.digest_section("rhythm.threads", order=10)(liveliest_threads)
    registry.digest_section("rhythm.newcomers", order=20)(new_members)
    registry.digest_section("rhythm.polls", order=50)(poll_results)
    registry.digest_section("rhythm.upcoming", order=90)(upcoming)


async def count_message(context: Context, event: MessagePosted) -> None:
    if event.is_dm or event.from_bot:
        return
    community = await context.community()
    if community is None:
        return
    member = await context.member()
    if member.is_bot:
        return
    stored.count_message(
        context.session, community.id, member.id, event.message_id, event.thread_id, event.at
    )


def excerpt(text: str | None, default: str = "a conversation") -> str:
    if not text:
        return default
    text = " ".join(text.split())
    return "“" + typed(text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…") + "”"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


async def this_month(context: Context, period: DigestPeriod) -> DigestSection | None:
    items = await themes.month_items(context, period) + await articles.month_items(context, period)
    return DigestSection("This month", tuple(items), news=False) if items else None


async def liveliest_threads(context: Context, period: DigestPeriod) -> DigestSection | None:
    threads = await stored.liveliest(
        context.session, period.community_id, period.start, period.end, THREADS_SHOWN
    )
    ours = await _our_posts(context, period)
    items = tuple(
        DigestItem(
            f"{ours.get(thread.thread_id) or excerpt(text, 'a thread under a Hearth post')}: "
            f"{_count(thread.participants, 'person', 'people')}, "
            f"{_count(thread.replies, 'reply', 'replies')}"
        )
        for thread, text in threads
    )
    return DigestSection("Liveliest conversations", items) if items else None


async def _our_posts(context: Context, period: DigestPeriod) -> dict[str, str]:
    """The platform ids of this month's and last month's theme and article posts, named."""
    community = await context.session.get(Community, period.community_id)
    if community is None:
        return {}
    month = dates.month_of(dates.local(period.end, community.timezone).date())
    keys = {}
    for each in (month, dates.previous_month(month)):
        keys[themes.opening_key(community.id, each)] = "the thread of the theme of the month"
        keys[articles.post_key(community.id, each)] = "the discussion of the article of the month"
    rows = await context.session.execute(
        select(OutboxMessage.key, OutboxMessage.sent_message_id).where(
            OutboxMessage.key.in_(list(keys))
        )
    )
    return {posted: keys[key] for key, posted in rows if posted}


async def new_members(context: Context, period: DigestPeriod) -> DigestSection | None:
    members, total = await stored.joined_between(
        context.session, period.community_id, period.start, period.end, NEWCOMERS_SHOWN
    )
    if not members:
        return None
    names = ", ".join(typed(m.name) for m in members)
    more = f" and {total - len(members)} more" if total > len(members) else ""
    return DigestSection(
        "New members to welcome", (DigestItem(f"{names}{more}: say hello in the thread!"),)
    )


async def poll_results(context: Context, period: DigestPeriod) -> DigestSection | None:
    polls = await stored_polls.closed_between(
        context.session, period.community_id, period.start, period.end
    )
    items = []
    for poll in polls[:POLLS_SHOWN]:
        result = poll.result or {}
        if poll.kind == "survey":
            answers = result.get("responses", 0)
            items.append(DigestItem(f"{label(poll)} {excerpt(poll.question)}: {answers} responses"))
            continue
        counts = list(result.get("counts", []))
        voters = int(result.get("voters", 0))
        if not voters or not counts:
            items.append(DigestItem(f"{label(poll)} {excerpt(poll.question)}: nobody voted"))
            continue
        top = max(counts)
        leaders = [typed(o) for o, c in zip(poll.options, counts, strict=False) if c == top]
        items.append(
            DigestItem(
                f"{label(poll)} {excerpt(poll.question)}: “{' / '.join(leaders)}” "
                f"({top} of {voters})"
            )
        )
    return DigestSection("Poll results", tuple(items)) if items else None


async def upcoming(context: Context, period: DigestPeriod) -> DigestSection | None:
    from hearth.handlers.rhythm.calendar import entries  # the calendar reads this module's kin

    community = await context.session.get(Community, period.community_id)
    if community is None:
        return None
    found = await entries(context, community, period.end, period.end + timedelta(days=7))
    items = tuple(
        DigestItem(f"{dates.shown(when, community.timezone)}: {what}")
        for when, what in found
        if "digest" not in what.lower()
    )
    return DigestSection("Coming up", items, news=False) if items else None
