"""Terms of a text, for learning and matching expertise: lower-cased words, stop-words out,
a light plural fold. Deliberately simple and fast (it runs on every question)."""

from __future__ import annotations

import re

WORD = re.compile(r"[a-z0-9][a-z0-9+#]*")
MAX_TERMS = 48
"""Distinct terms kept per question (the first ones: a question's opening says what it is about)."""
MAX_TERM_LENGTH = 32
OPENING_TERMS = 12
"""A question's opening: its first terms, which say what it is about (a title, a first line)."""

_STOP = """
a about above after again against all also am an and any anyone anybody are aren as at be
because been before being below between both but by can cannot could did do does doing don
down during each else etc even ever every few for from further get gets getting got had has
have having he her here hers herself him himself his how however i id if im in into is isn
it its itself ive just know let like ll make many may me might more most much must my myself
need needs no nor not now of off on once one only or other others our ours ourselves out
over own please possible re really same see seems she should so some someone something such
than thank thanks that the their theirs them themselves then there these they this those
through thus to too under until up us use used using ve very want was way we well were what
when where which while who whom why will with without would yes yet you your yours yourself
yourselves
"""
STOP_WORDS = frozenset(_STOP.split())


def fold(word: str) -> str:
    """A light plural fold: "queries" → "query", "indexes" → "index", "tables" → "table"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str, limit: int = MAX_TERMS) -> list[str]:
    """The distinct terms of `text`, in order of first appearance, at most `limit`."""
    seen: dict[str, None] = {}
    for match in WORD.finditer(text.lower()):
        word = match.group()
        if word in STOP_WORDS or len(word) < 2 or len(word) > MAX_TERM_LENGTH or word.isdigit():
            continue
        seen.setdefault(fold(word), None)
        if len(seen) >= limit:
            break
    return list(seen)
