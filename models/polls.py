"""Polls and questionnaires: questions with choices, and one answer per person per question.

    Poll ──▶ PollQuestion (options as a JSON list; single or multiple; optional "other")
      └────▶ PollAnswer (one per question and person, changed in place until closing)

The answer keeps the grid the person was in when they answered, so results by
grid stay what they were even if people move.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

TITLE_MAX = 200
QUESTION_MAX = 300
OPTION_MAX = 60
OPTIONS_MAX = 10
QUESTIONS_MAX = 10
OTHER_MAX = 300


class Poll(SQLModel, table=True):
    """A poll staff put to an audience of their community, open until `closes_at`."""

    __tablename__ = "polls"
    __table_args__ = (Index("ix_polls_closes_at", "closes_at"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True, nullable=False))
    title: str = Field(max_length=TITLE_MAX)
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: int | None = Field(default=None, sa_column=Column(
        ForeignKey("users.id", ondelete="SET NULL")))
    send_results: bool = Field(default=False)  # the chart goes to the audience on closing
    closes_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When those who had not answered were reminded (once; services.polls.remind_due).
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class PollQuestion(SQLModel, table=True):
    """One question of a poll."""

    __tablename__ = "poll_questions"
    __table_args__ = (UniqueConstraint("poll_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(sa_column=Column(
        ForeignKey("polls.id", ondelete="CASCADE"), nullable=False))
    position: int
    text: str = Field(sa_type=Text)
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    multiple: bool = Field(default=False)
    allow_other: bool = Field(default=False)


class PollAnswer(SQLModel, table=True):
    """A person's answer to one question: chosen option numbers and any "other" text."""

    __tablename__ = "poll_answers"
    __table_args__ = (UniqueConstraint("question_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(sa_column=Column(
        ForeignKey("polls.id", ondelete="CASCADE"), index=True, nullable=False))
    question_id: int = Field(sa_column=Column(
        ForeignKey("poll_questions.id", ondelete="CASCADE"), nullable=False))
    user_id: int = Field(sa_column=Column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False))
    grid_id: int | None = Field(default=None, sa_column=Column(
        ForeignKey("grids.id", ondelete="SET NULL")))
    choices: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    other_text: str | None = Field(default=None, sa_type=Text)
    answered_at: datetime = Field(sa_type=UTCDateTime)
