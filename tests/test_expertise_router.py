"""The router on both database backends: learning from replies, ranking, exclusions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hearth.handlers.expertise import (
    model,
    rank_experts,
    record_accepted,
    record_question,
    record_reply,
    router,
)
from hearth.storage import expertise as store
from hearth.storage.db import Database
from hearth.storage.models import Community, ExpertQuestion, Member

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def setup_community(db: Database, names: list[str]) -> tuple[int, dict[str, int]]:
    """A community and its members (by name → id), none of them known for anything yet."""
    async with db.transaction() as session:
        community = Community(
            platform="console",
            workspace="w",
            channel="C1",
            name="#cop",
            timezone="UTC",
            segments=[],
            interests=[],
            created_at=T0,
        )
        session.add(community)
        members = {
            n: Member(
                platform="console",
                workspace="w",
                user_id=f"U{n}",
                name=n,
                interests=[],
                created_at=T0,
            )
            for n in names
        }
        session.add_all(members.values())
        await session.flush()
        return community.id, {n: m.id for n, m in members.items()}


async def _ask(db: Database, cid: int, key: str, asker: int, text: str, at: datetime) -> None:
    async with db.transaction() as session:
        await record_question(
            session, community_id=cid, question_key=key, asker_id=asker, text=text, at=at
        )


async def test_the_person_who_answered_the_topic_ranks_first(db: Database) -> None:
    cid, m = await setup_community(db, ["ann", "bob", "cat", "dan"])
    at = T0
    for n in range(6):  # bob answers kubernetes questions, cat answers budgets (more often)
        at += timedelta(hours=1)
        await _ask(db, cid, f"k{n}", m["ann"], f"How do I scale kubernetes pods {n}?", at)
        await _ask(db, cid, f"b{n}", m["ann"], f"Any advice on budget forecasting {n}?", at)
        async with db.transaction() as session:
            await record_reply(
                session, community_id=cid, question_key=f"k{n}", replier_id=m["bob"], at=at
            )
            await record_accepted(
                session, community_id=cid, question_key=f"b{n}", answerer_id=m["cat"], at=at
            )
            await record_reply(
                session, community_id=cid, question_key=f"b{n}", replier_id=m["cat"], at=at
            )
    async with db.transaction() as session:
        ranked = await rank_experts(
            session, community_id=cid, text="kubernetes pods keep dying", asker_id=m["dan"], at=at
        )
        budget = await rank_experts(
            session, community_id=cid, text="budget forecasting tips?", asker_id=m["dan"], at=at
        )
        totals = await store.totals(session, cid)
    assert ranked[0].member_id == m["bob"]
    assert "answered questions on this" in ranked[0].reason
    assert budget[0].member_id == m["cat"]
    assert totals.answers == 12  # the repeated reply and the acceptance count once each
    assert totals.questions == 12


async def test_never_the_asker_nor_the_excluded(db: Database) -> None:
    cid, m = await setup_community(db, ["ann", "bob", "cat"])
    await _ask(db, cid, "q1", m["ann"], "Who knows about assurance?", T0)
    async with db.transaction() as session:
        for name in ("bob", "cat", "ann"):  # ann's reply to her own question teaches nothing
            await record_reply(
                session, community_id=cid, question_key="q1", replier_id=m[name], at=T0
            )
        asked_by_bob = await rank_experts(
            session, community_id=cid, text="assurance", asker_id=m["bob"], at=T0
        )
        excluding_cat = await rank_experts(
            session,
            community_id=cid,
            text="assurance",
            asker_id=m["ann"],
            at=T0,
            exclude=[m["cat"]],
        )
        unknown = await rank_experts(
            session, community_id=cid, text="assurance", asker_id=m["ann"], at=T0, limit=1
        )
    assert [r.member_id for r in asked_by_bob] == [m["cat"]]
    assert [r.member_id for r in excluding_cat] == [m["bob"]]
    assert len(unknown) == 1


async def test_a_reply_to_an_unknown_question_is_ignored(db: Database) -> None:
    cid, m = await setup_community(db, ["ann", "bob"])
    async with db.transaction() as session:
        await record_reply(
            session, community_id=cid, question_key="nope", replier_id=m["bob"], at=T0
        )
        assert (
            await rank_experts(session, community_id=cid, text="anything", asker_id=m["ann"], at=T0)
            == []
        )


def test_features_are_standardised_within_the_question_and_shrunk_among_few() -> None:
    many = [(float(i), 1.0) for i in range(180)]
    standardised = [v[2:] for v in model.normalised(many)]
    assert all(len(v) == 4 for v in model.normalised(many))
    assert abs(sum(x for x, _ in standardised)) < 1e-6
    spread = math.sqrt(sum(x * x for x, _ in standardised) / len(standardised))
    assert 0.89 < spread < 0.91  # 180 / (180 + 20)
    assert {y for _, y in standardised} == {0.0}  # no spread: no signal
    few = model.normalised([(0.0, 0.0), (0.01, 0.0)])
    assert few[1][2] - few[0][2] < 0.2  # two of them a hair apart are not two deviations apart
    assert model.normalised([]) == []


def test_activity_is_also_given_as_ranks_among_the_candidates() -> None:
    assert model.ranks([3.0, 9.0, 3.0, 1.0]) == [2.5, 1.0, 2.5, 4.0]  # ties share their mean
    assert model.ranks([]) == []
    raw = [tuple(float(m) for _ in model.FEATURES) for m in (2, 7, 5)]
    given = model.inputs(raw)
    ranked = [v[2 * len(model.FEATURES) :] for v in given]
    assert [v[: 2 * len(model.FEATURES)] for v in given] == model.normalised(raw)
    assert ranked[1] == (0.0,) * len(model.RANKED)  # the most active leads: -log(1)
    assert ranked[0] == (-math.log(3),) * len(model.RANKED)
    assert all(len(v) == len(model.WEIGHTS) == len(model.RERANK_WEIGHTS) for v in given)


def test_the_second_stage_orders_only_the_top_of_many_candidates() -> None:
    size = len(model.WEIGHTS)

    def candidate(member: int, value: float) -> router.Candidate:
        return router.Candidate(member, (value,) * size, 0.0, 0.0)

    few = [candidate(m, m / 10) for m in range(1, 6)]
    by_first = sorted(few, key=lambda c: -model.score(c.features))
    assert [c for _, c in router.best(few, 3)] == by_first[:3]
    many = [candidate(m, m / 100) for m in range(1, model.RERANK + 11)]
    picked = [c for _, c in router.best(many, len(many))]
    first = sorted(many, key=lambda c: (-model.score(c.features), c.member_id))
    head = first[: model.RERANK]
    second = sorted(
        head, key=lambda c: (-model.score(c.features, model.RERANK_WEIGHTS), c.member_id)
    )
    assert picked == second + first[model.RERANK :]


async def test_affinity_tells_a_specialist_from_a_generalist_on_broad_terms(db: Database) -> None:
    """The word "mysql" opens half the questions: too broad for the rare-term features to tell
    the member who answers the MySQL questions from the one who answers everything else."""
    cid, m = await setup_community(db, ["ann", "my", "gen", "new"])
    at = T0
    for n in range(6):
        at += timedelta(hours=1)
        await _ask(db, cid, f"m{n}", m["ann"], f"mysql question number {n}", at)
        await _ask(db, cid, f"o{n}", m["ann"], f"backup schedule question number {n}", at)
        replies = [(f"m{n}", "my"), (f"o{n}", "gen"), *([("m0", "gen")] if n == 0 else [])]
        async with db.transaction() as session:
            for key, member in replies:
                await record_reply(
                    session, community_id=cid, question_key=key, replier_id=m[member], at=at
                )
    async with db.transaction() as session:
        found = await router.candidates(
            session, cid, "mysql replication lag", {m["ann"]}, m["ann"], at=at
        )
    affinity = {c.member_id: c.features[model.FEATURES.index("affinity")] for c in found}
    # my: 6 of 6 answers open with mysql, where the community's rate is 1/2: log(7 / 4)
    assert math.isclose(affinity[m["my"]], math.log(7 / 4))
    # gen: 1 of 7 against 7 / 2 expected: log(2 / 4.5)
    assert math.isclose(affinity[m["gen"]], math.log(2 / 4.5))
    assert m["new"] not in affinity  # never answered, declared nothing: not a candidate


def test_affinity_is_zero_without_broad_terms_or_a_record() -> None:
    assert router._affinity(1, None, [], {}, 10, {}) == 0.0
    # no record: the lift of nothing against nothing
    assert router._affinity(1, None, ["sql"], {"sql": 5}, 10, {}) == 0.0


async def test_index_reads_keep_each_terms_heaviest_members_and_latest_questions(
    db: Database,
) -> None:
    cid, m = await setup_community(db, ["ann", "bob", "cat", "dan"])
    repliers = {0: ["bob"], 1: ["cat", "ann"], 2: ["cat", "ann"], 3: ["cat"]}
    for n, names in repliers.items():  # budget weights: cat 3, ann 2, bob 1
        at = T0 + timedelta(hours=n)
        await _ask(db, cid, f"q{n}", m["dan"], "Any advice on budget forecasting?", at)
        async with db.transaction() as session:
            for name in names:
                await record_reply(
                    session, community_id=cid, question_key=f"q{n}", replier_id=m[name], at=at
                )
    async with db.transaction() as session:
        heaviest = await store.postings(
            session, cid, ["budget", "forecasting", "budget"], per_term=2
        )
        latest = await store.similar_questions(session, cid, ["forecasting", "budget"], per_term=2)
        ids = dict(
            (await session.execute(select(ExpertQuestion.question_key, ExpertQuestion.id))).all()
        )
    assert sorted((term, member) for term, member, _, _ in heaviest) == sorted(
        (term, m[name]) for term in ("budget", "forecasting") for name in ("ann", "cat")
    )
    assert sorted((term, question) for term, question, _, _ in latest) == sorted(
        (term, ids[key]) for term in ("budget", "forecasting") for key in ("q2", "q3")
    )


async def test_of_equally_similar_past_questions_the_more_recent_counts(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, m = await setup_community(db, ["ann", "bob", "cat"])
    for n, name in enumerate(["bob", "cat"]):  # the same question twice: bob's older, cat's newer
        at = T0 + timedelta(hours=n)
        await _ask(db, cid, f"q{n}", m["ann"], "How do I drain kubernetes nodes?", at)
        async with db.transaction() as session:
            await record_reply(
                session, community_id=cid, question_key=f"q{n}", replier_id=m[name], at=at
            )
    monkeypatch.setattr(router, "SIMILAR_QUESTIONS", 1)
    async with db.transaction() as session:
        found = await router.candidates(
            session, cid, "drain kubernetes nodes", {m["ann"]}, m["ann"], at=at
        )
    similar = {c.member_id: c.features[model.FEATURES.index("similar_max")] for c in found}
    assert similar[m["cat"]] > 0.0
    assert similar[m["bob"]] == 0.0
