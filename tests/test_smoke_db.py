from sqlalchemy import select

from hearth.storage.db import Database
from hearth.storage.models import Community


async def test_migrated_database_is_empty(db: Database) -> None:
    async with db.transaction() as session:
        assert list(await session.scalars(select(Community))) == []
