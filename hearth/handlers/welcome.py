"""A warm, personal welcome for each newcomer, and one daily channel post naming them."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hearth.handlers import audit, policy
from hearth.handlers.cards import Actions, Button, Card, ContextLine, Section, names_of, typed
from hearth.handlers.commands import Args, CommandError, UsageError, number, visible
from hearth.handlers.context import Context
from hearth.handlers.events import ActionClicked, MemberJoined, MemberLeft
from hearth.handlers.expertise.commands import sync_interests
from hearth.handlers.policy import Kind
from hearth.handlers.ports import Target
from hearth.handlers.registry import Registry
from hearth.handlers.templates import Template, TemplateError
from hearth.storage import outbox
from hearth.storage.models import Community, Facilitator, Member, Membership

DEFAULT_TEMPLATE = (
    "Hi {name}, welcome to {community}! 👋\n"
    "{community} is for {purpose}.\n"
    "A good first step: say hello in {community} — who you are, what you work on, and one thing "
    "you'd like to learn. And no question is too small: someone here has wondered the same, and "
    "people are glad to help. Your facilitators ({facilitators}) are here for you too."
)
PLACEHOLDERS = ("name", "community", "purpose", "facilitators")
NO_PURPOSE = "sharing practice and learning from each other"
"""{purpose} until a facilitator sets one: a phrase that reads well inside a sentence."""
MIN_CHOICES = 2
MAX_CHOICES = 10
MAX_LABEL = 75


def register(registry: Registry) -> None:
    registry.sends(Kind("welcome", dm=True, quiet=False), Kind("welcome_post", dm=False))
    registry.on(MemberJoined)(on_member_joined)
    registry.on(MemberLeft)(on_member_left)
    registry.action("welcome.segment")(choose_segment)
    registry.action("welcome.interest")(toggle_interest)
    registry.action("member.stop")(stop_messages)
    registry.action("member.resume")(resume_messages)
    registry.personal("welcome", forget=forget_newcomer)
    registry.command(
        "welcome set",
        "<message>",
        summary="set the welcome DM; placeholders: " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
        facilitator_only=True,
        group="welcome",
    )(set_template)
    registry.command(
        "welcome reset",
        summary="go back to the standard welcome DM",
        facilitator_only=True,
        group="welcome",
    )(reset_template)
    registry.command(
        "welcome preview",
        summary="see the welcome DM as a newcomer will",
        facilitator_only=True,
        audited=False,
        group="welcome",
    )(preview)
    registry.command(
        "segments set",
        '"Group one" "Group two" …',
        summary="the groups newcomers choose from",
        facilitator_only=True,
        group="welcome",
    )(set_segments)
    registry.command(
        "interests set",
        '"Topic one" "Topic two" …',
        summary="the interests newcomers pick from",
        facilitator_only=True,
        group="welcome",
    )(set_interests)


async def on_member_joined(context: Context, event: MemberJoined) -> None:
    community = await context.community()
    if community is None:
        return
    member = await context.member()
    if member.is_bot:
        return
    membership = await context.session.get(Membership, (community.id, member.id))
    if membership is not None:
        membership.left_at = None  # a returning member is not new
        return
    due = next_welcome_post(community, context.now(), context.defaults.welcome_post_hour)
    context.session.add(
        Membership(
            community_id=community.id,
            member_id=member.id,
            joined_at=context.now(),
            public_welcome_due=due,
        )
    )
    await context.session.flush()
    welcome = await policy.check(
        context.session, context.registry.outbox_kinds, "welcome", member, context.now()
    )
    if welcome.action != "drop":  # the sender asks again when it is due
        await context.enqueue(
            f"welcome-dm:{community.id}:{member.id}",
            "welcome",
            Target("dm", member.user_id),
            await welcome_card(context, community, member),
            member=member,
        )
    await _refresh_welcome_post(context, community, due)


async def on_member_left(context: Context, event: MemberLeft) -> None:
    community = await context.community()
    if community is None:
        return
    member = await context.member()
    membership = await context.session.get(Membership, (community.id, member.id))
    if membership is None or membership.left_at is not None:
        return
    membership.left_at = context.now()
    await context.session.flush()
    if membership.public_welcome_due and membership.public_welcome_due > context.now():
        await _refresh_welcome_post(context, community, membership.public_welcome_due)


async def forget_newcomer(context: Context, member: Member) -> None:
    """forget-me: take the member out of welcome posts that have not gone out yet."""
    upcoming = await context.session.execute(
        select(Membership, Community)
        .join(Community, Community.id == Membership.community_id)
        .where(Membership.member_id == member.id, Membership.public_welcome_due > context.now())
    )
    for membership, community in list(upcoming):
        due = membership.public_welcome_due
        await context.session.delete(membership)
        await context.session.flush()
        if due is not None:
            await _refresh_welcome_post(context, community, due)


async def refresh_posts_naming(context: Context, member: Member) -> None:
    """Rewrite the welcome posts still to come that name the member, after they stopped or
    resumed Hearth's messages (a post names them with or without a ping)."""
    upcoming = await context.session.execute(
        select(Membership.public_welcome_due, Community)
        .join(Community, Community.id == Membership.community_id)
        .where(
            Membership.member_id == member.id,
            Membership.left_at.is_(None),
            Membership.public_welcome_due > context.now(),
        )
    )
    for due, community in list(upcoming):
        await _refresh_welcome_post(context, community, due)


def next_welcome_post(community: Community, now: datetime, hour: int) -> datetime:
    """The next daily welcome-post time (community local time) strictly after `now`."""
    zone = ZoneInfo(community.timezone)
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), time(hour), zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour), zone)
    return candidate.astimezone(now.tzinfo)


async def _refresh_welcome_post(context: Context, community: Community, due: datetime) -> None:
    """Write, rewrite or withdraw the day's welcome post so it names exactly who is still here."""
    newcomers = list(
        await context.session.scalars(
            select(Member)
            .join(Membership, Membership.member_id == Member.id)
            .where(
                Membership.community_id == community.id,
                Membership.public_welcome_due == due,
                Membership.left_at.is_(None),
            )
            .order_by(Membership.joined_at, Member.id)
        )
    )
    key = f"welcome-post:{community.id}:{due.isoformat()}"
    if not newcomers:
        await outbox.cancel_pending(context.session, key)
        return
    card = welcome_post_card(newcomers)
    if not await outbox.replace_pending(context.session, key, card.to_json()):
        await context.enqueue(
            key, "welcome_post", Target("channel", community.channel), card, due_at=due
        )


def welcome_post_card(newcomers: list[Member]) -> Card:
    """The public post. Newcomers who stopped Hearth's messages are named without a mention,
    so the post does not notify them."""
    mentions = [f"<@{m.user_id}>" for m in newcomers]
    listed = (
        mentions[0] if len(mentions) == 1 else ", ".join(mentions[:-1]) + " and " + mentions[-1]
    )
    return Card(
        f"🎉 Please welcome our newest {'member' if len(mentions) == 1 else 'members'}: {listed}!",
        (ContextLine("Say hello in the thread — and newcomers, tell us what you work on."),),
        names=names_of(newcomers),
        quiet=frozenset(m.user_id for m in newcomers if m.unsolicited_dms_off),
    )


async def welcome_card(context: Context, community: Community, member: Member) -> Card:
    """The welcome DM, showing the member's current choices."""
    facilitators = list(
        await context.session.scalars(
            select(Member)
            .join(Facilitator, Facilitator.member_id == Member.id)
            .outerjoin(  # not those who left (no row: added before memberships were kept)
                Membership,
                (Membership.member_id == Member.id)
                & (Membership.community_id == Facilitator.community_id),
            )
            .where(Facilitator.community_id == community.id, Membership.left_at.is_(None))
            .order_by(Facilitator.added_at)
        )
    )
    text = template_of(community).render(
        {
            "name": typed(member.name.split()[0] if member.name.strip() else member.name),
            "community": typed(community.name),
            "purpose": typed(community.purpose or NO_PURPOSE),
            "facilitators": ", ".join(f"<@{f.user_id}>" for f in facilitators)
            or "The facilitators",
        },
        literal=typed,
    )
    tag = str(community.id)
    segments = Actions(
        tuple(
            Button(s, "welcome.segment", f"{tag}|{s}", selected=member.segment == s)
            for s in community.segments
        )
    )
    interests = Actions(
        tuple(
            Button(i, "welcome.interest", f"{tag}|{i}", selected=i in member.interests)
            for i in community.interests
        )
    )
    headline, _, rest = text.partition("\n")
    blocks = [
        Section(rest),
        Section("Which group are you in?"),
        segments,
        Section("What would you like to hear about? Pick any."),
        interests,
    ]
    if member.unsolicited_dms_off:
        blocks += [
            ContextLine("You won't get messages from Hearth that you didn't ask for."),
            Actions((Button("Resume messages", "member.resume", tag),)),
        ]
    else:
        blocks += [
            ContextLine(f"You're getting this because you joined {typed(community.name)}."),
            Actions((Button("Stop messages from Hearth", "member.stop", tag, style="danger"),)),
        ]
    return Card(headline, tuple(blocks), names=names_of([*facilitators, member]))


def template_of(community: Community) -> Template:
    """The community's welcome template; the standard one when none is set, or when the one
    stored is not a valid template (saved before templates were checked)."""
    try:
        return Template.parse(community.welcome_template or DEFAULT_TEMPLATE, PLACEHOLDERS)
    except TemplateError:
        return Template.parse(DEFAULT_TEMPLATE, PLACEHOLDERS)


async def set_template(context: Context, args: Args) -> None:
    template = args.one_text()
    if not visible(template):
        raise UsageError("Give the message text.")
    try:
        Template.parse(template, PLACEHOLDERS)
    except TemplateError as error:
        raise UsageError(str(error)) from error
    community = await context.require_community()
    if community.welcome_template == template:
        audit.no_change(context)
        await _preview(context, community, "No change: newcomers already get this:")
        return
    community.welcome_template = template
    await _preview(context, community, "Saved. Newcomers will get this:")


async def reset_template(context: Context, args: Args) -> None:
    community = await context.require_community()
    if community.welcome_template is None:
        audit.no_change(context)
        await _preview(context, community, "No change: newcomers already get the standard welcome:")
        return
    community.welcome_template = None
    await _preview(context, community, "Back to the standard welcome. Newcomers will get this:")


async def preview(context: Context, args: Args) -> None:
    await _preview(context, await context.require_community(), "Newcomers get this welcome:")


async def _preview(context: Context, community: Community, intro: str) -> None:
    card = await welcome_card(context, community, await context.member())
    context.reply_privately(Card(intro, (Section(card.text), *card.blocks), card.names))


async def set_segments(context: Context, args: Args) -> None:
    await _set_choices(context, args, "segments", "groups", "choose from")


async def set_interests(context: Context, args: Args) -> None:
    await _set_choices(context, args, "interests", "interests", "pick interests from")


async def _set_choices(context: Context, args: Args, column: str, what: str, verb: str) -> None:
    """Save the community's list `column` (segments or interests) from the command's choices."""
    community = await context.require_community()
    choices = _choices(args, what)
    if choices == getattr(community, column):
        audit.no_change(context)
        intro = f"No change: newcomers {verb}: "
    else:
        setattr(community, column, choices)
        intro = f"Newcomers now {verb}: "
    context.reply_privately(Card(intro + ", ".join(map(typed, choices)) + "."))


def _choices(args: Args, what: str) -> list[str]:
    choices = [visible(t) for t in args.tokens]
    if not choices:
        raise UsageError("List the choices, each in quotes.")
    empty = next((n for n, c in enumerate(choices, 1) if not c), None)
    if empty is not None:
        raise UsageError(
            f"Choice {empty} is empty (or only spaces or invisible characters); give it some "
            "text or leave it out."
        )
    if len(choices) < MIN_CHOICES:
        raise UsageError(f"Give at least {MIN_CHOICES} {what}, so there is a choice to make.")
    if len({c.casefold() for c in choices}) < len(choices):
        raise UsageError("Each choice must be different.")
    if len(choices) > MAX_CHOICES:
        raise UsageError(f"At most {MAX_CHOICES} choices, please (you gave {len(choices)}).")
    too_long = [c for c in choices if len(c) > MAX_LABEL]
    if too_long:
        raise UsageError(
            f"Keep each choice under {MAX_LABEL} characters: {typed(too_long[0][:30])}… is "
            "too long."
        )
    return choices


async def _clicked(context: Context, event: ActionClicked) -> tuple[Community, Member, str]:
    """The community named in a welcome button's value, the member, and the choice."""
    tag, _, choice = event.value.partition("|")
    community_id = number(tag)
    community = await context.session.get(Community, community_id) if community_id else None
    if community is None or community.platform != event.platform:
        raise CommandError("That community no longer exists.")
    return community, await context.member(), choice


async def choose_segment(context: Context, event: ActionClicked) -> None:
    community, member, choice = await _clicked(context, event)
    if choice not in community.segments:
        await _show_choices(context, event, community, member)
        current = ", ".join(community.segments)
        context.reply_privately(
            Card(f"“{choice[:MAX_LABEL]}” is no longer offered; the groups now are: {current}.")
        )
        return
    member.segment = choice
    await _show_choices(context, event, community, member)


async def toggle_interest(context: Context, event: ActionClicked) -> None:
    community, member, choice = await _clicked(context, event)
    if choice not in community.interests:
        await _show_choices(context, event, community, member)
        current = ", ".join(community.interests)
        context.reply_privately(
            Card(f"“{choice[:MAX_LABEL]}” is no longer offered; the interests now are: {current}.")
        )
        return
    chosen = [i for i in member.interests if i != choice]
    member.interests = chosen if choice in member.interests else [*chosen, choice]
    await sync_interests(context.session, member, context.now(), [community.id])
    await _show_choices(context, event, community, member)


async def stop_messages(context: Context, event: ActionClicked) -> None:
    community, member, _ = await _clicked(context, event)
    member.unsolicited_dms_off = True
    await refresh_posts_naming(context, member)
    await _show_choices(context, event, community, member)


async def resume_messages(context: Context, event: ActionClicked) -> None:
    community, member, _ = await _clicked(context, event)
    member.unsolicited_dms_off = False
    await refresh_posts_naming(context, member)
    await _show_choices(context, event, community, member)


async def _show_choices(
    context: Context, event: ActionClicked, community: Community, member: Member
) -> None:
    await context.session.flush()
    card = await welcome_card(context, community, member)
    if event.message:
        context.update(event.message, card)
    else:
        context.reply_privately(card)
