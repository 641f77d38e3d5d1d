"""The ranking model: features of (question, candidate) combined by a logistic regression.

The weights below were learned on the validation slices of the development datasets (see
docs/routing.md; `hearth routing-eval --fit` prints them). Features are computed from the
incrementally kept expertise rows only (hearth/storage/expertise.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hearth.storage.expertise import Decay, Profile

DECAY = Decay(slow=60.0, fast=12.0)
"""Half-lives of answer activity, in answers recorded in the community."""
ACCEPTED_BONUS = 1.0
"""Extra term weight learned from a question whose accepted answer a member wrote."""
ACCEPTED_SIMILARITY = 0.5
"""How much more a similar past question counts when the candidate's answer was accepted."""
BM25_K1 = 1.2
BM25_B = 0.75
PROFILE_B = 0.3
"""Length normalisation of a member's whole answering record (gentler than a question's:
prolific answerers are not long documents to discount)."""

FEATURES = (
    "activity",
    "fast",
    "answers",
    "accepted",
    "since_last",
    "topic",
    "coverage",
    "declared",
    "similar_max",
    "similar_top3",
    "similar_recent",
    "asker_history",
)
WEIGHTS = (1.487, -0.989, -0.302, 0.39, -0.489, 0.422, -1.476, 3.0, -0.163, 3.112, -0.701, 0.086)
"""Fitted (listwise, L2 = 1) on the validation slices of the six development datasets pooled;
`declared` never occurs there and is set by hand (3.0: a declared topic weighs about as much as
having answered several similar questions)."""
BIAS = 0.0


@dataclass(frozen=True)
class Match:
    """How a candidate's known terms meet a question's."""

    bm25: float = 0.0
    coverage: float = 0.0
    """Share of the question's idf mass among terms the candidate has answered on."""
    declared: float = 0.0
    """Share of the question's idf mass among terms of the candidate's declared topics."""
    similar_max: float = 0.0
    """Similarity of the most similar past question the candidate answered."""
    similar_top3: float = 0.0
    similar_recent: float = 0.0
    """Similarities of the past questions they answered, summed with recency decay."""
    asker_history: int = 0
    """Questions of this asker the candidate answered before."""


def features(profile: Profile | None, match: Match) -> tuple[float, ...]:
    """The feature vector, in FEATURES order."""
    if profile is None:
        activity = fast = answers = accepted = 0.0
        since = 10.0
    else:
        activity = math.log1p(profile.activity)
        fast = math.log1p(profile.fast)
        answers = math.log1p(profile.answers)
        accepted = math.log1p(profile.accepted)
        since = math.log1p(profile.since_last)
    return (
        activity,
        fast,
        answers,
        accepted,
        since,
        math.log1p(match.bm25),
        match.coverage,
        match.declared,
        math.log1p(match.similar_max),
        math.log1p(match.similar_top3),
        math.log1p(match.similar_recent),
        math.log1p(match.asker_history),
    )


def score(
    vector: tuple[float, ...], weights: tuple[float, ...] = WEIGHTS, bias: float = BIAS
) -> float:
    """The logistic regression's probability that this candidate answers well."""
    z = bias + sum(w * x for w, x in zip(weights, vector, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
