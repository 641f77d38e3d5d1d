"""From lurker to first question: find the quiet members, nudge them kindly, celebrate the first
post, and measure whether it works.

- firsts.py: first/last post facts as messages arrive; the first-post celebration.
- nudges.py: the daily sweep, the nudge DM and its buttons, "Introduce myself".
- report.py: `/cop lurkers` for facilitators, with the conversion figures.
"""

from __future__ import annotations

from hearth.handlers import audit
from hearth.handlers.cards import Card, Section, typed
from hearth.handlers.commands import Args, UsageError, number, visible
from hearth.handlers.context import Context
from hearth.handlers.events import MessagePosted
from hearth.handlers.lurkers import firsts, nudges, report
from hearth.handlers.policy import Kind
from hearth.handlers.registry import Registry
from hearth.handlers.templates import Template, TemplateError
from hearth.storage import lurkers as store
from hearth.storage.models import Community, Member, Membership, Nudge, OutboxMessage, Participation

SWEEP_AT = "daily 07:00"
"""When each community's sweep runs (its time zone); nudges go out in members' working hours."""
MAX_DAYS = 365
MAX_PER_DAY = 50
GROUP = "community"


def register(registry: Registry) -> None:
    registry.sends(
        Kind("nudge", dm=True, preference="nudges", capped=True, working=True),
        Kind("heads_up", dm=True),  # to facilitators: a member's first post
        Kind("celebration", dm=False),  # the reply in the thread of a member's first post
        Kind("intro", dm=False),  # "Introduce myself", posted for the member
    )
    registry.on(MessagePosted)(firsts.on_message)
    registry.preload(firsts.preload)
    registry.every("lurkers.sweep", SWEEP_AT)(nudges.sweep_job)
    registry.action("lurkers.intro")(nudges.intro_clicked)
    registry.action("lurkers.later")(nudges.later_clicked)
    registry.action("lurkers.stop")(nudges.stop_clicked)
    registry.form(nudges.INTRO_FORM)(nudges.intro_submitted)
    registry.personal("first_posts_and_nudges", export=export_member, forget=forget_member)
    command = registry.command
    command(
        "lurkers",
        summary="who joined and never posted, and whether nudges help (only you see it)",
        facilitator_only=True,
        audited=False,
        group=GROUP,
    )(show)
    command(
        "lurkers set-days",
        "<days>",
        summary="after how many quiet days a member counts as a lurker (default 14)",
        facilitator_only=True,
        group=GROUP,
    )(set_days)
    command(
        "lurkers set-per-day",
        "<count>",
        summary="how many nudges the daily sweep sends at most (default 3)",
        facilitator_only=True,
        group=GROUP,
    )(set_per_day)
    command(
        "lurkers celebrate",
        "<on|off>",
        summary="reply in the thread of a member's first post (default on)",
        facilitator_only=True,
        group=GROUP,
    )(set_celebrate)
    command(
        "nudge set",
        "<message>",
        summary="set the nudge DM to quiet members; placeholders: "
        + ", ".join(f"{{{p}}}" for p in nudges.PLACEHOLDERS),
        facilitator_only=True,
        group=GROUP,
    )(set_template)
    command(
        "nudge preview",
        summary="see the nudge DM as a quiet member will",
        facilitator_only=True,
        audited=False,
        group=GROUP,
    )(preview)
    command(
        "nudge reset",
        summary="go back to the standard nudge DM",
        facilitator_only=True,
        group=GROUP,
    )(reset_template)


async def show(context: Context, args: Args) -> None:
    community = await context.require_community()
    settings = await store.settings_of(context.session, community.id)
    context.reply_privately(
        await report.report_card(context.session, community, settings, context.now())
    )


def _count(args: Args, what: str, maximum: int) -> int:
    tokens = args.tokens
    value = number(tokens[0], maximum) if len(tokens) == 1 else None
    if not value:
        raise UsageError(f"Give {what} as one number from 1 to {maximum}.")
    return value


async def set_days(context: Context, args: Args) -> None:
    days = _count(args, "the days", MAX_DAYS)
    community = await context.require_community()
    settings = await store.settings_of(context.session, community.id)
    if settings.days == days:
        audit.no_change(context)
        intro = "No change: a"
    else:
        settings.days = days
        intro = "Saved: a"
    context.reply_privately(
        Card(
            f"{intro} member of {typed(community.name)} who joined {days}+ days ago and never "
            "posted counts as a lurker."
        )
    )


async def set_per_day(context: Context, args: Args) -> None:
    count = _count(args, "the number of nudges", MAX_PER_DAY)
    community = await context.require_community()
    settings = await store.settings_of(context.session, community.id)
    if settings.per_day == count:
        audit.no_change(context)
        intro = "No change: the"
    else:
        settings.per_day = count
        intro = "Saved: the"
    context.reply_privately(
        Card(f"{intro} daily sweep sends at most {count} nudge{'' if count == 1 else 's'}.")
    )


async def set_celebrate(context: Context, args: Args) -> None:
    word = " ".join(args.tokens).lower()
    if word not in ("on", "off"):
        raise UsageError("Say `on` or `off`.")
    community = await context.require_community()
    settings = await store.settings_of(context.session, community.id)
    wanted = word == "on"
    if settings.celebrate == wanted:
        audit.no_change(context)
    settings.celebrate = wanted
    what = (
        "Hearth replies in the thread of a member's first post"
        if wanted
        else "Hearth no longer replies in the thread of a member's first post"
    )
    context.reply_privately(Card(f"{what}; facilitators still hear about it privately."))


async def set_template(context: Context, args: Args) -> None:
    template = args.one_text()
    if not visible(template):
        raise UsageError("Give the message text.")
    try:
        Template.parse(template, nudges.PLACEHOLDERS)
    except TemplateError as error:
        raise UsageError(str(error)) from error
    community = await context.require_community()
    settings = await store.settings_of(context.session, community.id)
    if settings.nudge_template == template:
        audit.no_change(context)
        await _preview(
            context, settings.nudge_template, "No change: quiet members already get this:"
        )
        return
    settings.nudge_template = template
    await _preview(context, template, "Saved. Quiet members will get this:")


async def reset_template(context: Context, args: Args) -> None:
    community = await context.require_community()
    settings = await store.settings_of(context.session, community.id)
    if settings.nudge_template is None:
        audit.no_change(context)
        await _preview(context, None, "No change: quiet members already get the standard nudge:")
        return
    settings.nudge_template = None
    await _preview(context, None, "Back to the standard nudge. Quiet members will get this:")


async def preview(context: Context, args: Args) -> None:
    community = await context.require_community()
    settings = await store.settings_of(context.session, community.id)
    await _preview(context, settings.nudge_template, "Quiet members get this nudge:")


async def _preview(context: Context, template: str | None, intro: str) -> None:
    community = await context.require_community()
    settings = await store.settings_of(context.session, community.id)
    line = await nudges.highlight(context, community, context.now())
    card = await nudges.nudge_card(
        context, community, await context.member(), template, line, joined_days=settings.days
    )
    context.reply_privately(Card(intro, (Section(card.text), *card.blocks), card.names))


async def export_member(context: Context, member: Member) -> dict[str, object]:
    """my-data: when the member first and last posted in each community, and their nudges."""
    from sqlalchemy import select

    posts = await context.session.execute(
        select(Community.name, Participation)
        .join(Community, Community.id == Participation.community_id)
        .where(Participation.member_id == member.id)
        .order_by(Community.name)
    )
    sent = await context.session.execute(
        select(Community.name, Nudge)
        .join(Community, Community.id == Nudge.community_id)
        .where(Nudge.member_id == member.id)
        .order_by(Community.name, Nudge.number)
    )
    return {
        "posted": [
            {
                "community": name,
                "first_posted": p.first_posted_at.isoformat(),
                "last_posted": p.last_posted_at.isoformat(),
            }
            for name, p in posts
        ],
        "nudges": [
            {"community": name, "number": n.number, "due": n.due_at.isoformat()} for name, n in sent
        ],
    }


async def forget_member(context: Context, member: Member) -> None:
    """forget-me: the messages about the member's first post and introduction go (the
    facilitators' heads-ups, the celebration, the intro Hearth posted for them); their
    participation facts and nudges go with their member record."""
    from sqlalchemy import delete, or_, select

    communities = set(
        await context.session.scalars(
            select(Participation.community_id).where(Participation.member_id == member.id)
        )
    ) | set(
        await context.session.scalars(
            select(Membership.community_id).where(Membership.member_id == member.id)
        )
    )
    for community_id in sorted(communities):
        tag = f"{community_id}:{member.id}"
        await context.session.execute(
            delete(OutboxMessage).where(
                or_(
                    OutboxMessage.key.startswith(f"first-post:{tag}:", autoescape=True),
                    OutboxMessage.key.in_((f"celebrate:{tag}", f"intro:{tag}")),
                )
            )
        )
