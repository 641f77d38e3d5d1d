"""The article of the month: members suggest, facilitators approve, reject (kindly) or add,
and Hearth posts the next approved one on the month's second working day at 10:00, with who
suggested it, and opens a thread to discuss it. Nothing approved: nothing posted, and the
facilitators are reminded REMIND_DAYS before.

The job `rhythm.article` fires every weekday at ARTICLE_AT in the community's zone; it posts on
or after the second working day when nothing was posted that month (an article missed while
Hearth was down goes out when it is back, once: `posted_month` and the outbox key say so).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, select, update

from hearth.handlers.cards import Card, ContextLine, Section, names_of, typed
from hearth.handlers.commands import Args, CommandError, UsageError, number
from hearth.handlers.context import Context
from hearth.handlers.jobs import JobDue
from hearth.handlers.ports import Target
from hearth.handlers.registry import DigestItem, DigestPeriod, Registry
from hearth.handlers.rhythm import dates
from hearth.handlers.rhythm.common import facilitators, follow_up, job_community, link
from hearth.storage import rhythm as stored
from hearth.storage.models import (
    Article,
    Community,
    JobFiring,
    Member,
    Theme,
    ThreadParticipant,
)

GROUP = "community rhythm"
ARTICLE_AT = "weekdays 10:00"
POST_AT = "10:00"
REMIND_DAYS = 4
LATE_DAYS = 4
"""An article missed while Hearth was down still goes out this many days after its day."""
MAX_BLURB = 400
SUGGESTED, APPROVED, REJECTED, POSTED = "suggested", "approved", "rejected", "posted"


def register(registry: Registry) -> None:
    registry.command(
        "article suggest",
        '<url> "why it\'s worth reading"',
        summary="suggest an article of the month",
        group=GROUP,
    )(suggest_command)
    registry.command(
        "article queue",
        summary="suggested and approved articles",
        facilitator_only=True,
        audited=False,
        group=GROUP,
    )(queue_command)
    registry.command(
        "article approve",
        "<id>",
        summary="approve a suggestion",
        facilitator_only=True,
        group=GROUP,
    )(approve_command)
    registry.command(
        "article reject",
        '<id> ["a kind word for the suggester"]',
        summary="turn a suggestion down (the suggester is thanked)",
        facilitator_only=True,
        group=GROUP,
    )(reject_command)
    registry.command(
        "article add",
        '<url> "blurb"',
        summary="add an approved article yourself",
        facilitator_only=True,
        group=GROUP,
    )(add_command)
    registry.every("rhythm.article", ARTICLE_AT, misfire_grace=timedelta(hours=12))(article_job)
    registry.personal("articles_suggested", export=export_suggestions, forget=forget_suggestions)


def _parts(args: Args, usage: str) -> tuple[str, str]:
    words = args.words
    if len(words) != 2:
        raise UsageError(f"Give the address and, in quotes, {usage}.")
    blurb = " ".join(words[1].text.split())
    if not blurb:
        raise UsageError(f"Say {usage}.")
    if len(blurb) > MAX_BLURB:
        raise UsageError(f"Keep it under {MAX_BLURB} characters.")
    return link(words[0].text), blurb


async def suggest_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    url, blurb = _parts(args, "why it's worth reading")
    member = await context.member()
    article = Article(
        community_id=community.id,
        url=url,
        blurb=blurb,
        suggested_by=member.id,
        status=SUGGESTED,
        created_at=context.now(),
    )
    context.session.add(article)
    await context.session.flush()
    context.reply_privately(
        Card(
            f"Thanks! Your suggestion (#{article.id}) is with the facilitators; "
            "you'll hear what they decide."
        )
    )


async def add_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    url, blurb = _parts(args, "a blurb")
    member = await context.member()
    article = Article(
        community_id=community.id,
        url=url,
        blurb=blurb,
        suggested_by=member.id,
        status=APPROVED,
        created_at=context.now(),
        decided_at=context.now(),
    )
    context.session.add(article)
    await context.session.flush()
    context.reply_privately(
        Card(f"Article #{article.id} is approved and queued. {await _next(context, community)}")
    )


async def _next(context: Context, community: Community) -> str:
    when = next_posting(community, context.now())
    return f"The next article goes out {dates.shown(when, community.timezone)}."


def posting_time(community: Community, month: str) -> datetime:
    clock = datetime.strptime(POST_AT, "%H:%M").time()
    return dates.at_local(dates.working_day(month, 2), clock, community.timezone)


def next_posting(community: Community, now: datetime) -> datetime:
    month = dates.month_of(dates.local(now, community.timezone).date())
    when = posting_time(community, month)
    return when if when > now else posting_time(community, dates.next_month(month))


async def queue_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    waiting = await stored.articles(context.session, community.id, SUGGESTED)
    approved = await stored.articles(context.session, community.id, APPROVED)
    people = await _people(context, waiting + approved)
    blocks = []
    for title, rows in (("Suggested, to decide", waiting), ("Approved, in order", approved)):
        lines = [_line(a, people) for a in rows] or ["none"]
        blocks.append(Section(f"*{title}*\n" + "\n".join(lines)))
    blocks.append(
        ContextLine(
            f"`{context.prefix} article approve <id>` · `{context.prefix} article reject <id>` · "
            + await _next(context, community)
        )
    )
    context.reply_privately(
        Card("Articles of the month", tuple(blocks), names=names_of(list(people.values())))
    )


def _line(article: Article, people: dict[int, Member]) -> str:
    who = people.get(article.suggested_by or 0)
    by = f" — suggested by <@{who.user_id}>" if who else ""
    return f"• #{article.id} {article.url}: “{typed(article.blurb)}”{by}"


async def _people(context: Context, articles: list[Article]) -> dict[int, Member]:
    found = {}
    for article in articles:
        if article.suggested_by and article.suggested_by not in found:
            member = await context.session.get(Member, article.suggested_by)
            if member is not None:
                found[member.id] = member
    return found


async def _article(context: Context, community: Community, args: Args) -> tuple[Article, str]:
    words = args.words
    if not words:
        raise UsageError("Say which article, by its number.")
    article_id = number(words[0].text.lstrip("#"))
    article = await context.session.get(Article, article_id) if article_id is not None else None
    if article is None or article.community_id != community.id:
        raise CommandError(
            f"There is no article {typed(words[0].text)} here; "
            f"`{context.prefix} article queue` lists them."
        )
    note = " ".join(w.text for w in words[1:])
    return article, note


async def approve_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    article, note = await _article(context, community, args)
    if note:
        raise UsageError("`article approve` takes just the number.")
    if article.status != SUGGESTED:
        raise CommandError(f"Article #{article.id} is already {article.status}.")
    article.status, article.decided_at = APPROVED, context.now()
    await _tell(
        context,
        community,
        article,
        "approved",
        f"Good news: your suggestion {article.url} will be an article of the month in "
        f"{typed(community.name)}. Thank you!",
    )
    context.reply_privately(Card(f"Approved #{article.id}. {await _next(context, community)}"))


async def reject_command(context: Context, args: Args) -> None:
    community = await context.require_community()
    article, note = await _article(context, community, args)
    if article.status != SUGGESTED:
        raise CommandError(f"Article #{article.id} is already {article.status}.")
    article.status, article.decided_at = REJECTED, context.now()
    why = f" They said: “{typed(note)}”." if note else ""
    await _tell(
        context,
        community,
        article,
        "rejected",
        f"Thank you for suggesting {article.url} for {typed(community.name)}. The facilitators "
        f"won't feature it this time.{why} Please keep your suggestions coming: they are how "
        "we find the good reads.",
    )
    context.reply_privately(Card(f"Turned down #{article.id}; the suggester is thanked."))


async def _tell(
    context: Context, community: Community, article: Article, what: str, text: str
) -> None:
    """A kind note to the suggester (not to a facilitator who added it themselves)."""
    member = (
        await context.session.get(Member, article.suggested_by) if article.suggested_by else None
    )
    if member is None or member.user_id == context.event.user:
        return
    key = f"article:{community.id}:{article.id}:{what}"
    await context.enqueue(
        key, "article_note", Target("dm", member.user_id), Card(text), member=member
    )


# The job


async def article_job(context: Context, due: JobDue) -> None:
    community = await job_community(context, due)
    if community is None or due.period is None:
        return
    today = dates.local(due.period, community.timezone).date()
    month = dates.month_of(today)
    posting = dates.working_day(month, 2)
    if today >= posting:
        if await _due(context, community, due, today, posting, month):
            await _post(context, community, month)
        target = dates.next_month(month)
    else:
        target = month
    posting = dates.working_day(target, 2)
    if 0 < (posting - today).days <= REMIND_DAYS:
        await _remind(context, community, target)


async def _due(
    context: Context, community: Community, due: JobDue, today: date, posting: date, month: str
) -> bool:
    """Whether the month's article goes out now: on its day; or up to LATE_DAYS later when the
    job did not run on its day (Hearth was down), if nothing went out this month yet."""
    if await stored.posted_in(context.session, community.id, month) is not None:
        return False
    if today == posting:
        return True
    if (today - posting).days > LATE_DAYS:
        return False
    period = posting_time(community, month)
    ran = await context.session.get(JobFiring, (due.key, period))
    return ran is None


async def _post(context: Context, community: Community, month: str) -> None:
    queue = await stored.articles(context.session, community.id, APPROVED)
    if not queue:
        return
    article = queue[0]
    article.status, article.posted_month, article.posted_at = POSTED, month, context.now()
    who = await context.session.get(Member, article.suggested_by) if article.suggested_by else None
    by = f"\nSuggested by <@{who.user_id}>" if who else ""
    card = Card(
        f"Article of the month: {article.url}",
        (
            Section(f"“{typed(article.blurb)}”{by}"),
            ContextLine("What did you take from it? Let's talk in the thread."),
        ),
        names=names_of([who] if who else []),
        quiet=frozenset(),
    )
    key = post_key(community.id, month)
    await context.enqueue(key, "article", Target("channel", community.channel), card)
    opener = Card(
        "Discussion of this month's article: what stood out for you, and what would you try?"
    )
    await follow_up(context, key, f"{key}:thread", "article", opener)


def post_key(community_id: int, month: str) -> str:
    return f"article:{community_id}:{month}:post"


async def _remind(context: Context, community: Community, month: str) -> None:
    """Only a community that uses the article of the month (one was ever suggested or added)."""
    statuses = (SUGGESTED, APPROVED, REJECTED, POSTED)
    if not await stored.articles(context.session, community.id, *statuses):
        return
    if await stored.articles(context.session, community.id, APPROVED):
        return
    if await stored.posted_in(context.session, community.id, month) is not None:
        return
    when = dates.shown(posting_time(community, month), community.timezone)
    waiting = len(await stored.articles(context.session, community.id, SUGGESTED))
    card = Card(
        f"No article of the month is approved for {typed(community.name)} yet; the next one "
        f"is due {when}.",
        (
            Section(
                f"{waiting} suggestion(s) wait: `{context.prefix} article queue`, then "
                f"`{context.prefix} article approve <id>`, or `{context.prefix} article add`."
            ),
        ),
    )
    for member in await facilitators(context, community):
        key = f"article:{community.id}:{month}:remind:{member.id}"
        await context.enqueue(key, "reminder", Target("dm", member.user_id), card, member=member)


# What the digest shows


async def month_items(context: Context, period: DigestPeriod) -> list[DigestItem]:
    community = await context.session.get(Community, period.community_id)
    if community is None:
        return []
    month = dates.month_of(dates.local(period.end, community.timezone).date())
    article = await stored.posted_in(context.session, community.id, month)
    if article is None:
        return []
    return [DigestItem(f"Article of the month: “{typed(article.blurb)}”", article.url)]


# Personal data


async def export_suggestions(context: Context, member: Member) -> list[dict[str, object]]:
    """The articles the member suggested or added, and what became of them."""
    rows = await context.session.scalars(
        select(Article).where(Article.suggested_by == member.id).order_by(Article.id)
    )
    return [
        {
            "community_id": a.community_id,
            "url": a.url,
            "why": a.blurb,
            "status": a.status,
            "suggested_at": a.created_at.isoformat(),
        }
        for a in rows
    ]


async def forget_suggestions(context: Context, member: Member) -> None:
    """Suggestions never posted go; a posted article stays the community's, without its
    suggester; themes the member planned stay, without their author."""
    await context.session.execute(
        delete(Article).where(
            Article.suggested_by == member.id, Article.status.in_((SUGGESTED, REJECTED))
        )
    )
    await context.session.execute(
        update(Article).where(Article.suggested_by == member.id).values(suggested_by=None)
    )
    await context.session.execute(
        update(Theme).where(Theme.created_by == member.id).values(created_by=None)
    )
    await context.session.execute(
        delete(ThreadParticipant).where(ThreadParticipant.member_id == member.id)
    )
