"""/mydata gives a person everything about them; /deleteme leaves only anonymous rows."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from models.courses import Category
from models.db import begin_write
from models.outbox import OutboxMessage, OutboxStatus
from models.users import Role, RoleGrant, User
from models.voices import Report, ReportCategory
from models.volunteers import Skill, Slot
from services import concerns, course_orders, invites, privacy, users
from services import volunteers as vol
from services.access import load_access
from services.clock import ManualClock
from tests.factories import admin_access, grant, make_community, make_user
from tests.services import test_courses, test_volunteers


async def test_export_holds_the_user_and_every_row_about_them(
    session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    ann = await make_user(session, clock, name="Ann", community=community)
    await grant(session, clock, ann, Role.TEACHER, community)
    other = await make_user(session, clock, name="Bob")
    await grant(session, clock, other, Role.TEACHER, community)

    data = json.loads(privacy.export_as_json(await privacy.export_user_data(session, user=ann)))
    assert data["you"]["first_name"] == "Ann"
    assert [row["user_id"] for row in data["your_roles"]] == [ann.id]


async def test_erase_keeps_an_anonymous_row_and_nothing_personal(
    session: AsyncSession, clock: ManualClock
) -> None:
    community = await make_community(session, clock)
    ann = await make_user(session, clock, tg_id=777, name="Ann", community=community)
    await grant(session, clock, ann, Role.STAFF, community)
    await privacy.erase_user(session, user=ann, clock=clock)

    row = (await session.execute(select(User).where(User.id == ann.id))).scalar_one()
    assert (row.tg_id, row.first_name, row.username, row.consented_at) == (None, None, None, None)
    assert row.deleted_at == clock.now()
    assert row.community_id == community.id  # anonymous counts per community stay true
    assert (await session.execute(select(RoleGrant))).first() is None
    assert await users.get_by_tg_id(session, tg_id=777) is None


def test_every_user_linked_text_column_is_erased_or_kept_for_a_reason() -> None:
    columns = set(privacy.user_linked_text_columns())
    blanked = set().union(*(eraser.blanks for eraser in privacy.ERASERS))
    assert {"course_orders.topic", "outbox.params", "voice_reports.answer"} <= columns
    assert columns - blanked - set(privacy.KEPT) == set(), "no eraser covers these"
    assert blanked & set(privacy.KEPT) == set()
    assert (blanked | set(privacy.KEPT)) - columns == set(), "names of no text column"


async def ann_leaves_text_everywhere(
    session: AsyncSession, clock: ManualClock, *, ann_tg_id: int | None = None,
    staff_tg_id: int | None = None,
) -> tuple[User, list[str]]:
    """Ann orders a course, reports a problem that staff answer, withdraws late from a shift;
    staff and a teacher are told, and half the messages go out. Returns her texts."""
    home = await make_community(session, clock)
    staff_user = await make_user(session, clock, name="Staff", community=home,
                                 tg_id=staff_tg_id)
    staff = await grant(session, clock, staff_user, Role.STAFF, home)
    ann = await make_user(session, clock, name="Zhangsanfeng", community=home, tg_id=ann_tg_id)
    secrets = ["Zhangsanfeng", "diabetes-7431 糖尿病", "pipe-8820 漏水", "answer-3317",
               "hospital-5519 住院"]
    order = await course_orders.create_order(
        session, user=ann, clock=clock, category=Category.HEALTH, topic=secrets[1])
    for i in range(5):
        neighbour = await make_user(session, clock, name=f"N{i}", community=home)
        await course_orders.back_order(session, user=neighbour, clock=clock,
                                       order_id=order.id or 0, buttons=test_courses.buttons)
    report = await concerns.create_report(session, clock=clock, user=ann,
                                          category=ReportCategory.FACILITIES,
                                          description=f"The {secrets[2]} on floor 3")
    await concerns.answer(session, access=staff, clock=clock, report_id=report.id or 0,
                          text=f"Dear Zhangsanfeng, fixed ({secrets[3]})")
    await vol.save_profile(session, user=ann, clock=clock, skills=[Skill.PATROL],
                           slots=[Slot.WEEKDAY_EVENING], other_skill="knits-6610")
    secrets.append("knits-6610")
    (shift,) = await test_volunteers.patrol(session, clock, staff, home, headcount=1)
    claim = await vol.claim_shift(session, user=ann, clock=clock, buttons=test_volunteers.BUTTONS,
                                  shift_id=shift.id or 0)
    await begin_write(session)  # what was queued so far went out
    await session.execute(update(OutboxMessage).values(status=OutboxStatus.SENT,
                                                       sent_at=clock.now()))
    await session.commit()
    clock.set(test_volunteers.TUE_18 - timedelta(hours=11))
    await vol.withdraw(session, user=ann, clock=clock, claim_id=claim.id or 0,
                       reason=secrets[4])
    await session.commit()  # end the read snapshot: a reader on an old one keeps the log
    return ann, secrets


async def test_deleteme_leaves_none_of_the_persons_text_in_any_row(
    session: AsyncSession, clock: ManualClock
) -> None:
    ann, secrets = await ann_leaves_text_everywhere(session, clock)
    rows = (await session.execute(select(OutboxMessage))).scalars().all()
    about_ann = [r for r in rows if r.user_id != ann.id and any(
        s in str(r.params) for s in secrets)]
    assert {r.status for r in about_ann} == {OutboxStatus.PENDING, OutboxStatus.SENT}

    await privacy.erase_user(session, user=ann, clock=clock)
    await session.commit()
    for table in SQLModel.metadata.sorted_tables:
        for row in (await session.execute(select(table))).all():
            left = [s for s in secrets if any(s in str(value) for value in row)]
            assert left == [], f"{table.name}: {row}"
    rows = (await session.execute(select(OutboxMessage).execution_options(
        populate_existing=True))).scalars().all()
    unsent = [r for r in rows if r.id in {a.id for a in about_ann}
              and r.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)]
    assert unsent == []  # cancelled, not sent blank


async def test_deleteme_leaves_none_of_the_text_in_the_sqlite_files(
    session: AsyncSession, clock: ManualClock, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("about SQLite's own files")
    ann, secrets = await ann_leaves_text_everywhere(session, clock)
    path = Path(db_url.split("///", 1)[1])

    def file_bytes() -> bytes:
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())

    before = file_bytes()
    assert all(s.encode() in before for s in secrets)
    await privacy.erase_user(session, user=ann, clock=clock)
    after = file_bytes()
    assert [s for s in secrets if s.encode() in after] == []


async def test_mydata_of_staff_and_admins_holds_only_what_is_about_them(
    session: AsyncSession, clock: ManualClock
) -> None:
    ann, secrets = await ann_leaves_text_everywhere(session, clock)
    staff_user = (await session.execute(select(User).where(User.first_name == "Staff"))
                  ).scalar_one()
    staff = await load_access(session, user_id=staff_user.id or 0, bootstrap_admin=False)
    (report,) = (await session.execute(select(Report))).scalars().all()
    await concerns.assign(session, access=staff, clock=clock, report_id=report.id or 0,
                          assignee_id=staff_user.id or 0)
    home = staff.staff_of
    admin_user = await make_user(session, clock, name="Director")
    await grant(session, clock, admin_user, Role.ADMIN, None)
    admin = admin_access(admin_user)
    tokens = [
        (await invites.create_invite(session, access=staff, clock=clock, role=Role.TEACHER,
                                     community_id=next(iter(home)), ttl=timedelta(days=7))).token,
        (await invites.create_invite(session, access=admin, clock=clock, role=Role.STAFF,
                                     community_id=next(iter(home)), ttl=timedelta(days=7))).token,
        (await invites.create_invite(session, access=admin, clock=clock, role=Role.ADMIN,
                                     community_id=None, ttl=timedelta(days=7))).token,
    ]
    await session.commit()

    for person in (staff_user, admin_user):
        data = await privacy.export_user_data(session, user=person)
        dumped = privacy.export_as_json(data).decode()
        leaked = [s for s in [*secrets, *tokens] if s in dumped]
        assert leaked == [], f"{person.first_name}'s export holds {leaked}"
        assert data["you"]["first_name"] == person.first_name
        assert {g["role"] for g in data["your_roles"]} <= {"staff", "admin"}
        made = data["invites_you_made_or_used"]
        assert made and all("token" not in i for i in made)
    staff_data = await privacy.export_user_data(session, user=staff_user)
    (handled,) = staff_data["reports"]  # what they did stays: the report given to them
    assert handled["id"] == report.id and handled["assignee_id"] == staff_user.id
    assert "description" not in handled
    sent = staff_data["messages_the_bot_sent_you"]
    assert sent and all("params" not in m for m in sent)
    # A resident's own export still holds what they wrote.
    ann_data = json.loads(privacy.export_as_json(await privacy.export_user_data(session, user=ann)))
    assert ann_data["courses_you_ordered"][0]["topic"] == secrets[1]
    assert "pipe-8820" in ann_data["reports"][0]["description"]


def test_every_user_linked_table_has_a_plain_name_in_the_export() -> None:
    linked = {table.name for table in SQLModel.metadata.sorted_tables
              if table.name == "users" or privacy._user_columns(table)}
    assert linked - set(privacy.SECTIONS) == set()


async def test_the_export_speaks_of_the_person_not_of_our_tables(
    session: AsyncSession, clock: ManualClock
) -> None:
    ann, _secrets = await ann_leaves_text_everywhere(session, clock)
    data = await privacy.export_user_data(session, user=ann)
    tables = {table.name for table in SQLModel.metadata.sorted_tables} - {"reports"}
    assert set(data) & tables == set()
    keys = {key for rows in data.values() for row in (rows if isinstance(rows, list) else [rows])
            for key in row}
    assert keys & privacy.TECHNICAL == set()
    assert privacy.counted(data)["messages_the_bot_sent_you"] >= 1
