"""Residents' voices: concerns, ideas and their backing; polls, questions and answers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 00:27:05.807236
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('send_results', sa.Boolean(), nullable=False),
    sa.Column('closes_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.create_index('ix_polls_closes_at', ['closes_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_polls_community_id'), ['community_id'], unique=False)

    op.create_table('voice_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('photo_file_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('backers', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('voice_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_reports_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_voice_reports_community_status', ['community_id', 'status'],
                              unique=False)

    op.create_table('poll_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('multiple', sa.Boolean(), nullable=False),
    sa.Column('allow_other', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('poll_id', 'position')
    )
    op.create_table('voice_backings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['voice_reports.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_id', 'user_id')
    )
    with op.batch_alter_table('voice_backings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_backings_user_id'), ['user_id'], unique=False)

    op.create_table('poll_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('other_text', sa.Text(), nullable=True),
    sa.Column('answered_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['poll_questions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('question_id', 'user_id')
    )
    with op.batch_alter_table('poll_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_answers_poll_id'), ['poll_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_poll_answers_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('poll_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_answers_user_id'))
        batch_op.drop_index(batch_op.f('ix_poll_answers_poll_id'))

    op.drop_table('poll_answers')
    with op.batch_alter_table('voice_backings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voice_backings_user_id'))

    op.drop_table('voice_backings')
    op.drop_table('poll_questions')
    with op.batch_alter_table('voice_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_voice_reports_community_status')
        batch_op.drop_index(batch_op.f('ix_voice_reports_author_id'))

    op.drop_table('voice_reports')
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_polls_community_id'))
        batch_op.drop_index('ix_polls_closes_at')

    op.drop_table('polls')
