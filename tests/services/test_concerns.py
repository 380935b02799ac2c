"""Concerns and ideas: the status workflow, who may do what, what the resident is told."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from models.audit import AuditEntry
from models.communities import Grid
from models.outbox import OutboxMessage
from models.users import Role
from models.voices import Report, ReportCategory, ReportStatus
from services import concerns, privacy
from services.clock import ManualClock
from services.errors import InvalidInput, NotAllowed
from tests.factories import grant, make_community, make_user


async def outbox_keys(session: AsyncSession, user_id: int) -> list[str]:
    await session.commit()
    found = await session.execute(select(col(OutboxMessage.key)).where(
        col(OutboxMessage.user_id) == user_id).order_by(col(OutboxMessage.id)))
    return [key or "" for key in found.scalars()]


async def test_report_from_received_to_resolved_and_rated(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny Court", grids=("Block 1",))
    grid = (await session.execute(select(Grid))).scalar_one()
    ann = await make_user(session, clock, name="Ann", community=sunny)
    wang = await make_user(session, clock, name="Wang", community=sunny)
    staff = await grant(session, clock, wang, Role.STAFF, sunny)

    report = await concerns.create_report(
        session, clock=clock, user=ann, category=ReportCategory.FACILITIES,
        description="  The stairwell light on floor 3 is broken  ", grid_id=grid.id,
        photo_file_id="photo-1")
    assert report.description == "The stairwell light on floor 3 is broken"
    assert report.status == ReportStatus.RECEIVED
    assert await outbox_keys(session, wang.id or 0) == [concerns.NEW_REPORT_KEY]

    assert ann.id is not None and report.id is not None
    rid = report.id
    with pytest.raises(concerns.ReportClosed):  # not resolved yet
        await concerns.rate(session, clock=clock, user_id=ann.id, report_id=rid, stars=5)
    await concerns.assign(session, access=staff, clock=clock, report_id=rid,
                          assignee_id=wang.id or 0)
    await concerns.set_status(session, access=staff, clock=clock, report_id=rid,
                              status=ReportStatus.IN_PROGRESS)
    clock.advance(days=1)
    report = await concerns.set_status(session, access=staff, clock=clock, report_id=rid,
                                       status=ReportStatus.RESOLVED, text="A new bulb is in.")
    assert (report.status, report.answer, report.closed_at) == (
        ReportStatus.RESOLVED, "A new bulb is in.", clock.now())
    assert await outbox_keys(session, ann.id) == [
        concerns.STATUS_KEYS[ReportStatus.IN_PROGRESS], concerns.STATUS_KEYS[ReportStatus.RESOLVED]]
    with pytest.raises(concerns.ReportClosed):  # resolved once: staff's way back is 🔁 Reopen
        await concerns.set_status(session, access=staff, clock=clock, report_id=rid,
                                  status=ReportStatus.DECLINED, text="No")
    with pytest.raises(NotAllowed):
        await concerns.rate(session, clock=clock, user_id=wang.id or 0, report_id=rid,
                            stars=5)
    report = await concerns.rate(session, clock=clock, user_id=ann.id, report_id=rid,
                                 stars=4)
    assert report.rating == 4
    actions = (await session.execute(select(col(AuditEntry.action)))).scalars().all()
    assert actions == ["report.assign", "report.status", "report.status"]


async def test_bad_input_and_other_communities_change_nothing(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    other = await make_community(session, clock, "Other", grids=("Far",))
    far = (await session.execute(select(Grid))).scalar_one()
    ann = await make_user(session, clock, community=sunny)
    outsider = await grant(session, clock, await make_user(session, clock, community=other),
                           Role.STAFF, other)
    for text, reason in (("   ", "empty"), ("x" * 1001, "too_long")):
        with pytest.raises(InvalidInput) as error:
            await concerns.create_report(session, clock=clock, user=ann,
                                         category=ReportCategory.SAFETY, description=text)
        assert error.value.reason == reason
    with pytest.raises(InvalidInput):
        await concerns.create_report(session, clock=clock, user=ann, grid_id=far.id,
                                     category=ReportCategory.SAFETY, description="Dark path")
    report = await concerns.create_report(session, clock=clock, user=ann,
                                          category=ReportCategory.SAFETY, description="Dark")
    assert report.id is not None
    with pytest.raises(NotAllowed):
        await concerns.set_status(session, access=outsider, clock=clock, report_id=report.id,
                                  status=ReportStatus.IN_PROGRESS)
    with pytest.raises(NotAllowed):
        await concerns.answer(session, access=outsider, clock=clock, report_id=report.id,
                              text="Hi")
    await session.commit()
    assert (await session.get(Report, report.id)).status == ReportStatus.RECEIVED  # type: ignore[union-attr]
    assert (await session.execute(select(Report))).scalars().all() == [report]


async def test_withdraw_only_while_received_and_decline_needs_a_reason(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock)
    ann = await make_user(session, clock, community=sunny)
    staff = await grant(session, clock, await make_user(session, clock, community=sunny),
                        Role.STAFF, sunny)
    first = await concerns.create_report(session, clock=clock, user=ann,
                                         category=ReportCategory.OTHER, description="Noise")
    second = await concerns.create_report(session, clock=clock, user=ann,
                                          category=ReportCategory.OTHER, description="Dog")
    assert ann.id is not None and first.id is not None and second.id is not None
    first_id, second_id = first.id, second.id
    first = await concerns.withdraw(session, clock=clock, user_id=ann.id, report_id=first_id)
    assert first.status == ReportStatus.WITHDRAWN
    with pytest.raises(concerns.ReportClosed):
        await concerns.set_status(session, access=staff, clock=clock, report_id=first_id,
                                  status=ReportStatus.IN_PROGRESS)
    with pytest.raises(InvalidInput):
        await concerns.set_status(session, access=staff, clock=clock, report_id=second_id,
                                  status=ReportStatus.DECLINED, text=" ")
    second = await concerns.set_status(session, access=staff, clock=clock,
                                       report_id=second_id, status=ReportStatus.DECLINED,
                                       text="A matter for the police")
    assert second.decline_reason == "A matter for the police"
    with pytest.raises(concerns.ReportClosed):
        await concerns.withdraw(session, clock=clock, user_id=ann.id, report_id=second_id)


async def test_ideas_are_backed_once_and_ordered_by_backing(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock)
    people = [await make_user(session, clock, name=f"P{i}", community=sunny) for i in range(4)]
    staff = await grant(session, clock, people[3], Role.STAFF, sunny)
    bench = await concerns.create_report(session, clock=clock, user=people[0],
                                         category=ReportCategory.IDEA, description="A bench")
    charger = await concerns.create_report(session, clock=clock, user=people[0],
                                           category=ReportCategory.IDEA,
                                           description="An e-bike charging point")
    assert charger.id is not None and bench.id is not None
    with pytest.raises(NotAllowed):  # one's own idea
        await concerns.back(session, clock=clock, user=people[0], report_id=charger.id)
    for person in people[1:3]:
        await concerns.back(session, clock=clock, user=person, report_id=charger.id)
    await concerns.back(session, clock=clock, user=people[1], report_id=charger.id)  # again
    await concerns.back(session, clock=clock, user=people[1], report_id=bench.id)
    listed = await concerns.triage_list(session, access=staff, community_id=sunny.id or 0,
                                        ideas=True)
    assert [(r.description, r.backers) for r in listed] == [
        ("An e-bike charging point", 2), ("A bench", 1)]
    bench = await concerns.back(session, clock=clock, user=people[1], report_id=bench.id,
                                on=False)
    assert bench.backers == 0


async def test_deleteme_blanks_text_and_photo_but_keeps_the_row(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock)
    ann = await make_user(session, clock, community=sunny)
    report = await concerns.create_report(session, clock=clock, user=ann,
                                          category=ReportCategory.ENVIRONMENT,
                                          description="Rubbish by gate 2", photo_file_id="p",
                                          latitude=31.2, longitude=121.5)
    await privacy.erase_user(session, user=ann, clock=clock)
    await session.refresh(report)
    assert (report.description, report.photo_file_id, report.latitude) == ("", None, None)
    assert report.category == ReportCategory.ENVIRONMENT


# --- What the screens may offer (each flag beside its rule) ---------------------------------


async def test_the_author_may_withdraw_only_while_received_and_rate_only_when_resolved(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock)
    ann = await make_user(session, clock, community=sunny)
    staff = await grant(session, clock, await make_user(session, clock, community=sunny),
                        Role.STAFF, sunny)
    report = await concerns.create_report(session, clock=clock, user=ann,
                                          category=ReportCategory.OTHER, description="Noise")
    assert report.id is not None
    view = concerns.own_view(report)
    assert (view.can_withdraw, view.can_rate) == (True, False)
    report = await concerns.set_status(session, access=staff, clock=clock, report_id=report.id,
                                       status=ReportStatus.IN_PROGRESS)
    view = concerns.own_view(report)
    assert (view.can_withdraw, view.can_rate) == (False, False)
    with pytest.raises(concerns.ReportClosed):  # the rule agrees with the flag
        await concerns.withdraw(session, clock=clock, user_id=ann.id or 0,
                                report_id=report.id)
    report = await concerns.set_status(session, access=staff, clock=clock, report_id=report.id,
                                       status=ReportStatus.RESOLVED, text="Done")
    view = concerns.own_view(report)
    assert (view.can_withdraw, view.can_rate) == (False, True)
    await concerns.rate(session, clock=clock, user_id=ann.id or 0, report_id=report.id, stars=5)


async def test_staff_flags_follow_the_workflow(session: AsyncSession, clock: ManualClock) -> None:
    sunny = await make_community(session, clock)
    ann = await make_user(session, clock, community=sunny)
    staff = await grant(session, clock, await make_user(session, clock, community=sunny),
                        Role.STAFF, sunny)
    report = await concerns.create_report(session, clock=clock, user=ann,
                                          category=ReportCategory.OTHER, description="Noise")
    assert report.id is not None
    flags = ("can_assign", "can_take", "can_resolve", "can_decline", "can_answer")

    def offered(view: concerns.StaffView) -> set[str]:
        return {flag for flag in flags if getattr(view, flag)}

    assert offered(concerns.staff_view(report)) == set(flags)
    report = await concerns.set_status(session, access=staff, clock=clock, report_id=report.id,
                                       status=ReportStatus.IN_PROGRESS)
    assert offered(concerns.staff_view(report)) == set(flags) - {"can_take"}
    with pytest.raises(concerns.ReportClosed):  # not offered, and refused
        await concerns.set_status(session, access=staff, clock=clock, report_id=report.id,
                                  status=ReportStatus.IN_PROGRESS)
    report = await concerns.set_status(session, access=staff, clock=clock, report_id=report.id,
                                       status=ReportStatus.DECLINED, text="Not ours")
    assert offered(concerns.staff_view(report)) == {"can_answer", "can_take"}  # 🔁 Reopen
    withdrawn = await concerns.create_report(session, clock=clock, user=ann,
                                             category=ReportCategory.OTHER, description="Dog")
    assert withdrawn.id is not None
    withdrawn = await concerns.withdraw(session, clock=clock, user_id=ann.id or 0,
                                        report_id=withdrawn.id)
    assert offered(concerns.staff_view(withdrawn)) == set()
    with pytest.raises(concerns.ReportClosed):
        await concerns.answer(session, access=staff, clock=clock, report_id=withdrawn.id or 0,
                              text="Hi")


async def test_an_idea_offers_me_too_or_take_back_but_never_to_its_author(
    session: AsyncSession, clock: ManualClock
) -> None:
    sunny = await make_community(session, clock)
    ann, bob = [await make_user(session, clock, name=n, community=sunny) for n in ("A", "B")]
    staff = await grant(session, clock, await make_user(session, clock, community=sunny),
                        Role.STAFF, sunny)
    idea = await concerns.create_report(session, clock=clock, user=ann,
                                        category=ReportCategory.IDEA, description="A bench")
    assert idea.id is not None
    own = await concerns.idea_view(session, user=ann, idea=idea)
    assert (own.is_own, own.can_back, own.can_unback) == (True, False, False)
    view = await concerns.idea_view(session, user=bob, idea=idea)
    assert (view.is_own, view.can_back, view.can_unback) == (False, True, False)
    idea = await concerns.back(session, clock=clock, user=bob, report_id=idea.id)
    view = await concerns.idea_view(session, user=bob, idea=idea)
    assert (view.can_back, view.can_unback) == (False, True)
    idea = await concerns.set_status(session, access=staff, clock=clock, report_id=idea.id or 0,
                                     status=ReportStatus.RESOLVED)
    view = await concerns.idea_view(session, user=bob, idea=idea)
    assert (view.can_back, view.can_unback) == (False, False)
    with pytest.raises(concerns.ReportClosed):
        await concerns.back(session, clock=clock, user=bob, report_id=idea.id or 0, on=False)


async def test_limits_are_measured_as_telegram_counts_them(
    session: AsyncSession, clock: ManualClock
) -> None:
    """1000 is the limit in UTF-16 units: 501 emoji are 1002 of them."""
    sunny = await make_community(session, clock)
    ann = await make_user(session, clock, community=sunny)
    staff = await grant(session, clock, await make_user(session, clock, community=sunny),
                        Role.STAFF, sunny)
    with pytest.raises(InvalidInput) as error:
        await concerns.create_report(session, clock=clock, user=ann,
                                     category=ReportCategory.OTHER, description="🏚" * 501)
    assert (error.value.reason, error.value.limit) == ("too_long", 1000)
    report = await concerns.create_report(session, clock=clock, user=ann,
                                          category=ReportCategory.OTHER, description="🏚" * 500)
    with pytest.raises(InvalidInput):
        await concerns.answer(session, access=staff, clock=clock, report_id=report.id or 0,
                              text="🔧" * 501)
    with pytest.raises(InvalidInput):
        await concerns.set_status(session, access=staff, clock=clock, report_id=report.id or 0,
                                  status=ReportStatus.DECLINED, text="🚫" * 501)
    assert len(concerns.summary(report, 30).encode("utf-16-le")) // 2 <= 30


async def test_the_same_draft_sent_twice_at_once_files_one_report(
    session: AsyncSession, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    sunny = await make_community(session, clock, "Sunny Court")
    ann = await make_user(session, clock, name="Ann", community=sunny)
    wang = await make_user(session, clock, name="Wang", community=sunny)
    await grant(session, clock, wang, Role.STAFF, sunny)
    await session.commit()

    async def send() -> Report | concerns.AlreadySent:
        async with sessionmaker() as own:  # two updates, two sessions (or two replicas)
            try:
                return await concerns.create_report(
                    own, clock=clock, user=ann, category=ReportCategory.FACILITIES,
                    description="The gate does not close", draft_key="d" * 32)
            except concerns.AlreadySent as refused:
                return refused

    outcomes = await asyncio.gather(send(), send())
    made = [o for o in outcomes if isinstance(o, Report)]
    refused = [o for o in outcomes if isinstance(o, concerns.AlreadySent)]
    assert len(made) == len(refused) == 1 and refused[0].report_id == made[0].id
    assert len((await session.execute(select(Report))).scalars().all()) == 1
    assert await outbox_keys(session, wang.id or 0) == [concerns.NEW_REPORT_KEY]
