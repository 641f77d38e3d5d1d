"""The community's rhythm: themes of the month, the article of the month, and the digest.

- `themes`: `/cop theme …`, the month's opening post and mid-month prompt, the theme highlight.
- `articles`: `/cop article …`, the article's post and discussion thread, the reminder.
- `sections`: the per-thread counters and the rhythm's own digest sections.
- `digest`: building, rendering within the platforms' limits, posting, DMs and the spike.
- `calendar`: `/cop calendar`.

Every post is recurring work on the scheduler (`registry.every`, one firing per (job, period)),
or a keyed one-shot, and goes out through the outbox under a key of its own.
"""

from __future__ import annotations

from hearth.handlers.policy import Kind
from hearth.handlers.registry import Registry
from hearth.handlers.rhythm import articles, calendar, common, digest, sections, themes


def register(registry: Registry) -> None:
    registry.sends(
        Kind("digest", dm=True, preference="digests"),
        Kind("group_digest", dm=True),
        Kind("reminder", dm=True, preference="reminders"),
        Kind("article_note", dm=True, unsolicited=False),
        Kind("theme", dm=False),
        Kind("article", dm=False),
        Kind("digest_post", dm=False),
    )
    for part in (themes, articles, sections, digest, calendar):
        part.register(registry)
    registry.job(common.FOLLOW_UP)(common.follow_up_job)
