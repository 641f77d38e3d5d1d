"""What members type for the library, the jobs board and hot seats: links, titles, tags and
`--flag value` arguments, checked before anything is stored.

Hearth never fetches a link (no previews, no title look-up, no outbound call of any kind to a
member's URL); it only checks its shape here.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from hearth.handlers.commands import Args, UsageError, Word, visible

MAX_URL = 2000
"""Characters in a link: what browsers and both platforms handle everywhere."""
MAX_TITLE = 200
MAX_DESCRIPTION = 1000
MAX_TAGS = 8
MAX_TAG = 30
TAG = re.compile(r"[\w][\w \-]*", re.UNICODE)
URL_IN_TEXT = re.compile(r"https?://[^\s<>|\"]+", re.IGNORECASE)
"""A link in a chat message: bare, or inside Slack's `<https://…|label>` markup."""
HOST = re.compile(r"[a-z0-9\-._~%!$&'()*+,;=\[\]:]+", re.IGNORECASE)


class LinkError(UsageError):
    """A link that is not acceptable; the message says why."""


def check_url(raw: str) -> str:
    """The link, if it is an absolute http(s) URL of reasonable length with a host and no
    spaces, control characters or credentials; LinkError otherwise."""
    url = raw.strip()
    if url.startswith("<") and url.endswith(">"):  # Slack's <https://…> or <https://…|label>
        url = url[1:-1].split("|", 1)[0]
    if not url:
        raise LinkError("Give a link, starting with https:// or http://.")
    if len(url) > MAX_URL:
        raise LinkError(f"That link is {len(url)} characters long; links are at most {MAX_URL}.")
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in url):
        raise LinkError("A link has no spaces or invisible characters in it.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise LinkError(f"That isn't a link I can read ({error}).") from error
    if parts.scheme.lower() not in ("http", "https"):
        raise LinkError("Only web links are taken: they start with https:// or http://.")
    if not parts.hostname or not HOST.fullmatch(parts.hostname):
        raise LinkError("That link has no site name after https://.")
    if parts.username is not None or parts.password is not None:
        raise LinkError("Leave the user name and password out of the link.")
    if port == 0:
        raise LinkError("That link's port isn't one a browser can open.")
    return url


def first_url(text: str) -> str | None:
    """The first acceptable link in a chat message, if there is one."""
    for match in URL_IN_TEXT.finditer(text):
        try:
            return check_url(match.group(0).rstrip(".,;:!?)]}'"))
        except LinkError:
            continue
    return None


def check_title(raw: str, what: str = "title") -> str:
    """A title as shown: visible characters, one line, at most MAX_TITLE."""
    title = visible(raw)
    if not title:
        raise UsageError(f'Give a {what} in quotes, like "Risk register template".')
    if len(title) > MAX_TITLE:
        raise UsageError(f"That {what} is {len(title)} characters long; keep it under {MAX_TITLE}.")
    return title


def check_tags(raw: str) -> str:
    """`risk, Templates` as stored: `risk,templates` (lower case, no repeats)."""
    tags: list[str] = []
    for piece in raw.split(","):
        tag = visible(piece).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG or not TAG.fullmatch(tag):
            raise UsageError(
                f"Tags are words of letters, digits, spaces and dashes, up to {MAX_TAG} "
                "characters each, separated by commas: `--tags risk,templates`."
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise UsageError(f"Give at most {MAX_TAGS} tags.")
    return ",".join(tags)


def parse_flags(
    text: str, valued: tuple[str, ...], switches: tuple[str, ...] = ()
) -> tuple[list[Word], dict[str, str]]:
    """The plain arguments, and `--flag value` (or `--flag=value`) pairs for the flags in
    `valued` (switches in `switches` get the value "yes"); each flag at most once."""
    words = Args(text).words
    plain: list[Word] = []
    flags: dict[str, str] = {}
    position = 0
    while position < len(words):
        word = words[position]
        position += 1
        name, equals, inline = word.text.partition("=")
        name = name.lower()
        if word.quoted or not name.startswith("--"):
            plain.append(word)
            continue
        known = ", ".join(f"`{f}`" for f in (*valued, *switches))
        if name not in valued and name not in switches:
            shown = word.text if len(word.text) <= 30 else word.text[:29] + "…"
            raise UsageError(f"I don't know the option `{shown}`; the options are {known}.")
        if name in flags:
            raise UsageError(f"`{name}` is given twice; give it once.")
        if name in switches:
            flags[name] = "yes"
            continue
        if not equals:
            if position >= len(words):
                raise UsageError(f"`{name}` needs a value after it.")
            inline = words[position].text
            position += 1
        flags[name] = inline
    return plain, flags
