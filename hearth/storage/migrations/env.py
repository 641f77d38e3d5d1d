"""Alembic environment: Hearth always hands in a live connection (see hearth.storage.migrate)."""

from alembic import context

from hearth.storage.models import SEARCH_OBJECTS, Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `hearth db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    # full-text search objects are made by hand beside the models (see migration 0012)
    include_name=lambda name, type_, parents: not (name or "").startswith(SEARCH_OBJECTS),
)
with context.begin_transaction():
    context.run_migrations()
