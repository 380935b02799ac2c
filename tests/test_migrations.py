"""Migrating an empty database gives exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from models.db import create_engine, migrate


async def test_migrations_match_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    await migrate(engine)
    await migrate(engine)  # a second start-up finds nothing to do

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    def tables(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    async with engine.connect() as conn:
        assert await conn.run_sync(differences) == []
        assert await conn.run_sync(tables) == set(SQLModel.metadata.tables) | {"alembic_version"}
    await engine.dispose()
