"""Volunteers: profiles, tasks, shifts, claims and the hours ledger.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:10:34.217437
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('volunteer_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('volunteer_tasks', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_volunteer_tasks_community_id'), ['community_id'], unique=False)

    op.create_table('volunteers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('other_skill', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('slots', sa.JSON(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id')
    )
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_volunteers_community_id'), ['community_id'], unique=False)

    op.create_table('volunteer_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.Column('cancelled_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('short_ping_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['volunteer_tasks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('volunteer_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_shifts_starts_at', ['starts_at'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_volunteer_shifts_task_id'), ['task_id'], unique=False)

    op.create_table('volunteer_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claimed_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('checked_in_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_out_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('near_place', sa.Boolean(), nullable=True),
    sa.Column('attendance', sa.String(length=16), nullable=True),
    sa.Column('attendance_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attendance_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shift_id'], ['volunteer_shifts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('shift_id', 'user_id')
    )
    with op.batch_alter_table('volunteer_claims', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_volunteer_claims_user_id'), ['user_id'], unique=False)

    op.create_table('volunteer_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('worked_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['volunteer_claims.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('volunteer_hours', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_volunteer_hours_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_volunteer_hours_user_id'), ['user_id'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_volunteer_hours_worked_at'), ['worked_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('volunteer_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_hours_worked_at'))
        batch_op.drop_index(batch_op.f('ix_volunteer_hours_user_id'))
        batch_op.drop_index(batch_op.f('ix_volunteer_hours_claim_id'))

    op.drop_table('volunteer_hours')
    with op.batch_alter_table('volunteer_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_claims_user_id'))

    op.drop_table('volunteer_claims')
    with op.batch_alter_table('volunteer_shifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_shifts_task_id'))
        batch_op.drop_index('ix_volunteer_shifts_starts_at')

    op.drop_table('volunteer_shifts')
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteers_community_id'))

    op.drop_table('volunteers')
    with op.batch_alter_table('volunteer_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_tasks_community_id'))

    op.drop_table('volunteer_tasks')

