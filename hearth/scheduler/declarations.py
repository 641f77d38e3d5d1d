"""What a feature declares through the registry: recurring work, in one line.

    registry.every("retention.purge", "daily 03:00", applies=has_limit)(purge_job)

`per="community"` makes one job per community (on the platforms this server serves, where
`applies` says so), firing in the community's time zone; `per="platform"` one per platform, in
the server's default zone. One-shots are declared with `registry.job(kind)` and scheduled with
a key (`handlers/jobs.schedule`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from hearth.handlers.context import Defaults
    from hearth.scheduler.rules import Rule
    from hearth.storage.models import Community

Scope = Literal["community", "platform"]
Applies = Callable[["Community", "Defaults"], bool]


@dataclass(frozen=True)
class Recurring:
    """Recurring work: what runs (`run(context, JobDue)`), when, and what a missed period means.

    As in APScheduler: a period missed while nothing ran is made up when it is at most
    `misfire_grace` late (None: however late), else skipped; with `coalesce`, several missed
    periods are made up by one run (the latest), without it by one run each.
    """

    name: str
    rule: Rule
    run: Callable[..., Any]
    per: Scope = "community"
    applies: Applies | None = None
    misfire_grace: timedelta | None = timedelta(hours=1)
    coalesce: bool = True
