"""What a poll is asked for: `/cop poll "Q" "A" "B" --flags` read, and any poll spec checked."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from hearth.handlers.commands import Args, UsageError, visible

MAX_OPTIONS = 10
"""Buttons per poll: Slack allows 25 per actions block and Teams shows few per row; ten
readable buttons is the most a member can choose between at a glance."""
MAX_OPTION_LENGTH = 75
"""Slack's limit for a button's label."""
MAX_QUESTION_LENGTH = 300
USAGE = (
    '"Question" "Option" "Option" … [--multi] [--anonymous] [--hidden] [--closes 3d] '
    '[--every "first monday 10:00"]'
)
FLAGS = {
    "--multi": "multi",
    "--anonymous": "anonymous",
    "--anon": "anonymous",
    "--hidden": "hidden",
}
VALUED = {"--closes": "closes", "--every": "every"}
CLOCK_TIME = re.compile(r"[0-9]{1,2}:[0-9]{2}")


@dataclass(frozen=True)
class PollSpec:
    """A poll as asked for, by command or form, before it is checked."""

    question: str
    options: tuple[str, ...]
    multi: bool = False
    anonymous: bool = False
    hidden: bool = False
    closes: str = ""
    every: str = ""


def parse_command(text: str) -> PollSpec:
    """`"Question" "A" "B" --multi --closes 3d …` as a spec (quotes group words; a quoted
    `"--multi"` is an option's text). Each flag may be given once."""
    words = Args(text).words
    texts: list[str] = []
    flags: dict[str, bool] = {}
    values: dict[str, str] = {}
    seen: set[str] = set()
    position = 0
    while position < len(words):
        word = words[position]
        position += 1
        name, equals, inline = _flag(word.text).partition("=")
        if word.quoted or not name.startswith("--"):
            texts.append(word.text)
            continue
        if name not in FLAGS and name not in VALUED:
            raise UsageError(
                f"I don't know the option `{_shown(word.text)}`; there are --multi, --anonymous, "
                "--hidden, --closes and --every."
            )
        key = FLAGS.get(name) or VALUED[name]
        if key in seen:
            raise UsageError(f"`{name}` is given twice; give it once.")
        seen.add(key)
        if name in FLAGS:
            if equals:
                raise UsageError(f"`{name}` takes no value; write just `{name}`.")
            flags[key] = True
            continue
        value = inline
        if not equals:
            following = words[position] if position < len(words) else None
            if following is None or (not following.quoted and _flag(following.text)[:2] == "--"):
                raise UsageError(f"`{name}` needs a value, like `{name} {_example(name)}`.")
            value = following.text
            position += 1
        follows = words[position] if position < len(words) else None
        if (
            name == "--closes"
            and follows
            and not follows.quoted
            and CLOCK_TIME.fullmatch(follows.text)
        ):  # 2026-12-08 17:00
            value += " " + follows.text
            position += 1
        if not value.strip():
            raise UsageError(f"`{name}` needs a value, like `{name} {_example(name)}`.")
        values[key] = value
    if not texts:
        raise UsageError("Give the question and at least two options, each in quotes.")
    return PollSpec(texts[0], tuple(texts[1:]), **flags, **values)


def _shown(token: str) -> str:
    token = token.replace("`", "'")
    return token if len(token) <= 30 else token[:29] + "…"


def _flag(token: str) -> str:
    """`--multi` in any case; `—multi` (autocorrect made a dash of `--`) reads as `--multi`."""
    if token.startswith("--"):
        return token.lower()
    if token[:1] in ("—", "–"):
        dashed = "--" + token[1:].lower()
        if dashed.partition("=")[0] in FLAGS | VALUED:
            return dashed
    return token


def _example(name: str) -> str:
    return "3d" if name == "--closes" else '"first monday 10:00"'


def check(spec: PollSpec) -> PollSpec:
    """The spec with whitespace trimmed; raises UsageError saying exactly what to change."""
    question = visible(spec.question)
    options = tuple(visible(o) for o in spec.options)
    if not question:
        raise UsageError("Give the question and at least two options, each in quotes.")
    empty = next((n for n, o in enumerate(options, 1) if not o), None)
    if empty is not None:
        raise UsageError(
            f"Option {empty} is empty (or only spaces or invisible characters); give it some "
            "text or leave it out."
        )
    if len(question) > MAX_QUESTION_LENGTH:
        raise UsageError(
            f"Keep the question to {MAX_QUESTION_LENGTH} characters (it has {len(question)})."
        )
    if len(options) < 2:
        raise UsageError("A poll needs at least two options.")
    if len(options) > MAX_OPTIONS:
        raise UsageError(
            f"That's {len(options)} options, and a poll can have at most {MAX_OPTIONS}, so that "
            "each gets its own button on Slack and Teams. Drop some, or split them over two "
            "polls."
        )
    long = next((n for n, o in enumerate(options, 1) if len(o) > MAX_OPTION_LENGTH), None)
    if long is not None:
        raise UsageError(
            f"Option {long} has {len(options[long - 1])} characters; keep each option to "
            f"{MAX_OPTION_LENGTH} so it fits on a button."
        )
    seen = {o.casefold() for o in options}
    if len(seen) < len(options):
        raise UsageError("Each option must be different.")
    return replace(spec, question=question, options=options)
