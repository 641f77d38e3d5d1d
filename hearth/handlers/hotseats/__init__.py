"""Hot seats: an expert answers the community's questions for some days.

A facilitator proposes (`/cop hotseat @expert "topic" --starts 2027-02-01 --days 5`); the
expert accepts or declines with buttons in a DM. Once accepted, every step is a keyed one-shot
(`handlers/jobs.py`) named by hot seat, step and first day, so a restart neither repeats nor
drops one, and cancelling, extending or moving finds them all:

- `hotseat:<id>:announce@<first day>` — a week ahead (at once when that has passed): the
  channel post with the "Ask a question early" form (anonymous if the asker wants: then no
  row, message or log line says who asked);
- `hotseat:<id>:open@…` — 09:00 of the first day: the opening post, then each early question
  as its own post (its own thread);
- `hotseat:<id>:remind:<day>@…` — each morning: a DM to the expert listing the early questions
  their thread has no answer from them to (the send policy holds it for their working hours);
- `hotseat:<id>:close:<days>@…` — 17:00 of the last day: the summary of every question and
  its answers, and thanks to the expert.

What is posted goes through the outbox under `hotseat:<id>:<step>` (without the day: a moved
hot seat is announced and opened once). While a hot seat runs, the questions feature asks its
expert first (`first_responder("hotseat")`), and welcomes and nudges may mention it
(`highlight("hotseat")`).

- `proposals`: proposing, and the expert's answer;
- `manage`: list, cancel, extend, move;
- `questions`: the early questions and their posts;
- `steps`: the scheduled steps; `timing`: their times and keys; `cards`: what is shown;
- `hooks`: what other features ask.
"""

from __future__ import annotations

from hearth.handlers.hotseats import hooks, manage, proposals, questions, steps
from hearth.handlers.policy import Kind
from hearth.handlers.registry import Registry

GROUP = "hot seats, library and jobs"


def register(registry: Registry) -> None:
    registry.sends(
        Kind("hotseat_invite", dm=True),
        Kind("hotseat_reminder", dm=True, preference="reminders", working=True),
        Kind("hotseat_status", dm=True, unsolicited=False),
        Kind("hotseat_post", dm=False),
    )
    registry.command(
        "hotseat",
        proposals.USAGE,
        summary="propose an expert for a hot seat (they accept first)",
        facilitator_only=True,
        group=GROUP,
    )(proposals.propose_command)
    registry.command(
        "hotseat list", summary="hot seats proposed, coming up and running", group=GROUP
    )(manage.list_command)
    registry.command(
        "hotseat cancel",
        "<id>",
        summary="call a hot seat off (every step of it)",
        facilitator_only=True,
        group=GROUP,
    )(manage.cancel_command)
    registry.command(
        "hotseat extend",
        "<id> <days>",
        summary="give a hot seat more days",
        facilitator_only=True,
        group=GROUP,
    )(manage.extend_command)
    registry.command(
        "hotseat move",
        manage.MOVE_USAGE,
        summary="move a hot seat that has not opened to new days (every step with it)",
        facilitator_only=True,
        group=GROUP,
    )(manage.move_command)
    registry.action("hotseat.accept")(proposals.accept)
    registry.action("hotseat.decline")(proposals.decline)
    registry.action("hotseat.ask")(questions.open_ask_form)
    registry.form("hotseat.ask")(questions.ask)
    registry.job("hotseat.announce")(steps.announce_job)
    registry.job("hotseat.open")(steps.open_job)
    registry.job("hotseat.remind")(steps.remind_job)
    registry.job("hotseat.close")(steps.close_job)
    registry.first_responder("hotseat")(hooks.first_responders)
    registry.highlight("hotseat")(hooks.highlight)
    registry.personal("hotseats", export=hooks.export)
