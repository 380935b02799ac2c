"""Titles in other languages on menu courses, sessions and volunteer tasks, {locale: title},
shown to readers of that language (the title itself is the fallback).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 13:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('courses', 'course_sessions', 'volunteer_tasks')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('titles', sa.JSON(), nullable=False,
                                       server_default='{}'))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('titles')
