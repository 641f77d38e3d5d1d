"""Calibration: each community weighs topic against activity by what its answers bore out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hearth.handlers.expertise import model, rank_experts, record_accepted, record_question, router
from hearth.storage import expertise as store
from hearth.storage.db import Database
from hearth.storage.models import ExpertCalibration, ExpertPick
from tests.test_expertise_router import setup_community

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SCALES = len(model.TOPIC_SCALES)
LOW = sum(1 << i for i, s in enumerate(model.TOPIC_SCALES) if s < 1.0)
HIGH = sum(1 << i for i, s in enumerate(model.TOPIC_SCALES) if s >= 1.0)


def _candidate(member: int, rest: float = 0.0, matching: float = 0.0) -> router.Candidate:
    """A candidate whose first-stage logit is `rest + scale * matching`."""
    names = model.FEATURES
    activity = names.index("activity")
    topical = max(
        (i for i, n in enumerate(names) if n in model.MATCHING), key=lambda i: model.WEIGHTS[i]
    )
    vector = [0.0] * len(model.WEIGHTS)
    vector[activity] = rest / model.WEIGHTS[activity]
    vector[topical] = matching / model.WEIGHTS[topical]
    return router.Candidate(member, tuple(vector), 0.0, 0.0)


def test_each_scale_picks_its_own_first_three() -> None:
    active, topical = _candidate(1, rest=1.0), _candidate(2, matching=1.0)
    others = [_candidate(3, rest=0.9), _candidate(4, rest=0.85)]
    scored = [router.Scored.of(c) for c in [active, topical, *others]]
    picks = router.first_picks(scored)
    assert picks[1] == (1 << SCALES) - 1  # first under every scale
    assert picks[2] == HIGH  # the topical one only where topic counts as much or more
    assert picks[4] == LOW
    assert picks[3] == (1 << SCALES) - 1
    assert [c.member_id for _, c in router.ordered(scored, 2, 2.0)] == [2, 1]
    assert [c.member_id for _, c in router.ordered(scored, 2, 0.25)] == [1, 3]


async def _answered(db: Database, cid: int, key: str, picks: dict[int, int], by: int) -> bool:
    """Ask `key`, keep `picks` for it, accept `by`'s answer; whether the picks were kept."""
    async with db.transaction() as session:
        await record_question(
            session, community_id=cid, question_key=key, asker_id=None, text=f"{key}?", at=T0
        )
        kept = await store.remember_picks(session, cid, key, picks)
        await record_accepted(session, community_id=cid, question_key=key, answerer_id=by, at=T0)
        return kept


async def _best(db: Database, cid: int, minimum: int = 1) -> int:
    async with db.transaction() as session:
        return await store.best_scale(session, cid, default=model.DEFAULT_SCALE, minimum=minimum)


async def test_answered_questions_move_the_scale_to_what_picked_their_answerers(
    db: Database,
) -> None:
    cid, m = await setup_community(db, ["ann", "bob", "cat"])
    assert await _best(db, cid) == model.DEFAULT_SCALE  # nothing scored yet
    assert await _answered(db, cid, "q1", {m["ann"]: LOW, m["bob"]: HIGH}, by=m["bob"])
    assert await _best(db, cid) == model.DEFAULT_SCALE  # the high scales tie: nearest default
    await _answered(db, cid, "q2", {m["ann"]: LOW, m["bob"]: HIGH}, by=m["ann"])
    # one hit each way, the older one decayed: the low scale nearest the default wins
    assert await _best(db, cid) == model.DEFAULT_SCALE - 1
    assert await _best(db, cid, minimum=3) == model.DEFAULT_SCALE  # two: too few to go on
    await _answered(db, cid, "q3", {m["ann"]: LOW}, by=m["cat"])  # nobody picked cat
    assert await _best(db, cid) == model.DEFAULT_SCALE - 1
    async with db.transaction() as session:
        scores = dict(
            (scale, score)
            for scale, score in await session.execute(
                select(ExpertCalibration.scale, ExpertCalibration.score).where(
                    ExpertCalibration.community_id == cid
                )
            )
        )
        left = await session.scalar(select(func.count()).select_from(ExpertPick))
        totals = await store.totals(session, cid)
    keep = model.CALIBRATION.keep
    assert scores[0] == scores[1] == scores[2]
    assert abs(scores[model.DEFAULT_SCALE] - keep * keep) < 1e-9
    assert abs(scores[0] - keep) < 1e-9
    assert left == 0  # each question's picks are used up when it is answered
    assert totals.calibrated == 3


async def test_only_the_first_routing_of_a_known_question_is_kept(db: Database) -> None:
    cid, m = await setup_community(db, ["ann", "bob", "cat"])
    async with db.transaction() as session:
        assert not await store.remember_picks(session, cid, "unknown", {m["ann"]: 1})
        await record_question(
            session, community_id=cid, question_key="q1", asker_id=m["cat"], text="k8s?", at=T0
        )
        assert await store.remember_picks(session, cid, "q1", {m["ann"]: 1})
        assert not await store.remember_picks(session, cid, "q1", {m["bob"]: 2})  # escalation
        kept = list(await session.execute(select(ExpertPick.member_id, ExpertPick.scales)))
        waiting = await store.waiting_picks(session, m["ann"])  # in her my-data
        await store.forget_member(session, m["ann"])
        forgotten = await session.scalar(select(func.count()).select_from(ExpertPick))
    assert kept == [(m["ann"], 1)]
    assert waiting == {cid: 1}
    assert forgotten == 0


async def test_routing_a_question_keeps_its_first_picks_and_follows_the_calibration(
    db: Database,
) -> None:
    cid, m = await setup_community(db, ["ann", "bob", "cat"])
    at = T0
    for n in range(3):  # bob answers kubernetes questions
        at += timedelta(hours=1)
        async with db.transaction() as session:
            await record_question(
                session,
                community_id=cid,
                question_key=f"k{n}",
                asker_id=m["ann"],
                text=f"How do I scale kubernetes pods {n}?",
                at=at,
            )
            await record_accepted(
                session, community_id=cid, question_key=f"k{n}", answerer_id=m["bob"], at=at
            )
    async with db.transaction() as session:
        await record_question(
            session,
            community_id=cid,
            question_key="new",
            asker_id=m["cat"],
            text="kubernetes pods keep dying",
            at=at,
        )
        ranked = await rank_experts(
            session,
            community_id=cid,
            text="kubernetes pods keep dying",
            asker_id=m["cat"],
            at=at,
            question_key="new",
        )
        kept = dict(
            (member, scales)
            for member, scales in await session.execute(
                select(ExpertPick.member_id, ExpertPick.scales)
            )
        )
    assert ranked[0].member_id == m["bob"]
    assert kept[m["bob"]] == (1 << SCALES) - 1  # the only one who answered: every scale's pick
    await _answered(db, cid, "new", {}, by=m["bob"])
    assert await _best(db, cid) == model.DEFAULT_SCALE  # every scale hit: the default stays
