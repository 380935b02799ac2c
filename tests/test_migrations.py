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


def test_the_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from models.db import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_a_database_behind_is_migrated_and_one_at_head_is_left_alone(db_url: str) -> None:
    import asyncio
    import sys

    from alembic import command

    from models.db import ROOT, alembic_config, head_revision

    engine = create_engine(db_url)
    await migrate(engine)

    def downgrade(connection: Connection) -> None:  # as if the newest migration were new
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0004")  # two migrations back

    async with engine.begin() as conn:
        await conn.run_sync(downgrade)
        assert not await conn.run_sync(lambda c: inspect(c).has_table("polls"))
    await migrate(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(lambda c: inspect(c).has_table("polls"))
    await engine.dispose()
    assert head_revision() == "0018"  # the test's premise: update it with each migration
    # A bot starting on a database at the head never loads Alembic.
    probe = (f"import asyncio, sys; from models.db import create_engine, migrate; "
             f"asyncio.run(migrate(create_engine({db_url!r}))); "
             f"print('alembic' in sys.modules)")
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", probe, cwd=ROOT,
                                                 stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    assert child.returncode == 0 and out.decode().strip() == "False"
