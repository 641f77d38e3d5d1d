"""Queries of the library (full-text search) and the jobs board."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hearth.storage.models import JobPosting, Resource

SUGGESTED, APPROVED, REJECTED = "suggested", "approved", "rejected"
MAX_SEARCH_WORDS = 8
WORD = re.compile(r"\w+", re.UNICODE)


def search_words(query: str) -> list[str]:
    """The words of a search as the full-text engines are given them: letters and digits only
    (no operators, quotes or column filters of either engine's syntax), lower case, at most
    MAX_SEARCH_WORDS."""
    return [w.lower() for w in WORD.findall(query)][:MAX_SEARCH_WORDS]


async def search(
    session: AsyncSession, community_id: int, query: str, limit: int = 10
) -> list[Resource]:
    """Approved resources whose title, tags or description hold every word of `query` (each
    as a word prefix, stemmed), best match first; with no words, the newest."""
    words = search_words(query)
    approved = (Resource.community_id == community_id, Resource.status == APPROVED)
    if not words:
        newest = select(Resource).where(*approved).order_by(Resource.approved_at.desc())
        return list(await session.scalars(newest.limit(limit)))
    if session.bind.dialect.name == "postgresql":
        document = literal_column("resources.resources_fts_vector")  # generated, GIN-indexed
        wanted = func.to_tsquery("english", " & ".join(f"{w}:*" for w in words))
        query_ = (
            select(Resource)
            .where(*approved, document.op("@@")(wanted))
            .order_by(func.ts_rank(document, wanted).desc(), Resource.id.desc())
        )
        return list(await session.scalars(query_.limit(limit)))
    match = " ".join(f'"{w}"*' for w in words)
    ranked = await session.execute(
        text(
            "SELECT rowid FROM resources_fts WHERE resources_fts MATCH :match "
            "ORDER BY bm25(resources_fts, 10.0, 5.0, 1.0), rowid DESC LIMIT :limit"
        ),
        {"match": match, "limit": limit * 5},
    )
    ids = [row[0] for row in ranked]
    if not ids:
        return []
    found = {
        r.id: r
        for r in await session.scalars(select(Resource).where(*approved, Resource.id.in_(ids)))
    }
    return [found[i] for i in ids if i in found][:limit]


async def pending(session: AsyncSession, community_id: int, limit: int = 20) -> list[Resource]:
    """Suggestions waiting for a facilitator, oldest first."""
    query = (
        select(Resource)
        .where(Resource.community_id == community_id, Resource.status == SUGGESTED)
        .order_by(Resource.created_at, Resource.id)
    )
    return list(await session.scalars(query.limit(limit)))


async def pending_count(session: AsyncSession, community_id: int) -> int:
    count = select(func.count()).where(
        Resource.community_id == community_id, Resource.status == SUGGESTED
    )
    return int(await session.scalar(count) or 0)


async def by_url(session: AsyncSession, community_id: int, url: str) -> Resource | None:
    return await session.scalar(
        select(Resource).where(Resource.community_id == community_id, Resource.url == url)
    )


async def approved_between(
    session: AsyncSession, community_id: int, start: datetime, end: datetime
) -> list[Resource]:
    """Resources approved in [start, end), oldest first (for the digest)."""
    query = (
        select(Resource)
        .where(
            Resource.community_id == community_id,
            Resource.status == APPROVED,
            Resource.approved_at >= start,
            Resource.approved_at < end,
        )
        .order_by(Resource.approved_at, Resource.id)
    )
    return list(await session.scalars(query))


async def open_jobs(
    session: AsyncSession, community_id: int, now: datetime, limit: int = 30
) -> list[JobPosting]:
    """Jobs still open at `now`, soonest closing first."""
    query = (
        select(JobPosting)
        .where(JobPosting.community_id == community_id, JobPosting.closes_at > now)
        .order_by(JobPosting.closes_at, JobPosting.id)
    )
    return list(await session.scalars(query.limit(limit)))


async def jobs_posted_between(
    session: AsyncSession, community_id: int, start: datetime, end: datetime
) -> list[JobPosting]:
    """Jobs posted in [start, end) and still open at `end` (for the digest)."""
    query = (
        select(JobPosting)
        .where(
            JobPosting.community_id == community_id,
            JobPosting.created_at >= start,
            JobPosting.created_at < end,
            JobPosting.closes_at > end,
        )
        .order_by(JobPosting.created_at, JobPosting.id)
    )
    return list(await session.scalars(query))


async def delete_job(session: AsyncSession, job_id: int) -> bool:
    result = await session.execute(delete(JobPosting).where(JobPosting.id == job_id))
    return bool(result.rowcount)
