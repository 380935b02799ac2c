"""Orders, "you order": residents ask for a course, neighbours back it, a teacher takes it.

    open ──take (one teacher wins)──▶ taken ──schedule──▶ scheduled
      └──────────── withdraw (the orderer) ───────────▶ withdrawn

When the backers of an open order reach the community's threshold, staff and
the teachers of its category are told once (`alerted_at` makes it once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.communities import Community
from models.courses import (
    TITLE_MAX,
    Category,
    Course,
    CourseOrder,
    CourseStatus,
    OrderBacking,
    OrderStatus,
    TimeOfDay,
)
from models.db import write
from models.outbox import OutboxKind, OutboxMessage, OutboxStatus
from models.users import User
from services import audit, outbox
from services.access import Access
from services.clock import Clock
from services.communities import staff_of
from services.course_sessions import (
    alert_key,
    given_key,
    released_key,
    taken_key,
    withdraw,
    withdrawn_key,
)
from services.courses import (
    PER_PAGE,
    AlreadyBacked,
    Buttons,
    Gone,
    NotTeacherHere,
    OrderClosed,
    Page,
    SimilarOrder,
    check_range,
    clean_text,
    get_rules,
    normalise,
    paging,
    subjects_of,
    teachers_of,
)
from services.errors import InvalidInput
from services.outbox import N_, Notify, Outgoing

EXPECTED_RANGE = (1, 500)
NOT_KNOWN = 0  # "I don't know" how many would come: an honest answer
ALL_DAYS = 0b111_1111


async def get_order(session: AsyncSession, *, order_id: int) -> CourseOrder:
    order = await session.get(CourseOrder, order_id)
    if order is None:
        raise Gone(f"order {order_id}")
    return order


async def _locked_order(session: AsyncSession, order_id: int) -> CourseOrder | None:
    """The order's row, held for this write (FOR UPDATE on PostgreSQL; SQLite's BEGIN
    IMMEDIATE already lets one writer in at a time); call it inside `write(session)`."""
    found = await session.execute(
        select(CourseOrder).where(col(CourseOrder.id) == order_id).with_for_update()
        .execution_options(populate_existing=True))
    return found.scalar_one_or_none()


def topic_of(order: CourseOrder) -> str | dict[str, Any]:
    """An order's topic in a queued message's params, said in each recipient's language
    where it is a menu course's with titles; a topic of one's own is as it was typed."""
    return outbox.title(order.topic, order.titles) if order.titles else order.topic


async def find_similar(
    session: AsyncSession, *, community_id: int, category: Category, topic: str,
    course_id: int | None, user_id: int | None = None,
) -> CourseOrder | None:
    """An open order in the community (by `user_id`, when given) that asks for the same thing.

    The same menu course, or the same category with one topic containing the
    other once spaces and punctuation are ignored ("太极拳" and "太极拳 入门").
    """
    same: list[Any] = [col(CourseOrder.category) == category]
    if course_id is not None:
        same.append(col(CourseOrder.course_id) == course_id)
    whose = [col(CourseOrder.user_id) == user_id] if user_id is not None else []
    rows = await session.execute(select(CourseOrder).where(
        col(CourseOrder.community_id) == community_id, *whose,
        col(CourseOrder.status).in_([OrderStatus.OPEN, OrderStatus.TAKEN]), or_(*same),
    ).order_by(col(CourseOrder.id)))
    wanted = normalise(topic)
    for order in rows.scalars().all():
        if course_id is not None and order.course_id == course_id:
            return order
        if alike(wanted, normalise(order.topic)):
            return order
    return None


def alike(wanted: str, other: str) -> bool:
    """Two topics (normalised) that ask for the same thing: one contains the other."""
    return bool(wanted and other and (wanted in other or other in wanted))


@dataclass(frozen=True)
class Suggestion:
    """A title offered on the order's first step: a neighbour's open order (`order_id`, to
    back in one tap) or a menu course nobody has ordered yet (`course_id`)."""

    title: str
    order_id: int | None = None
    course_id: int | None = None
    backers: int = 0
    titles: dict[str, str] = field(default_factory=dict)  # the menu course's, by language


async def suggestions(session: AsyncSession, *, community_id: int, user_id: int,
                      limit: int = 6) -> list[Suggestion]:
    """What neighbours want (open orders by others this person has not backed, the most
    backed first), then the menu's courses not ordered yet: tapped instead of typed."""
    backed = select(col(OrderBacking.order_id)).where(col(OrderBacking.user_id) == user_id)
    orders = list((await session.execute(select(CourseOrder).where(
        col(CourseOrder.community_id) == community_id, col(CourseOrder.user_id) != user_id,
        col(CourseOrder.status).in_([OrderStatus.OPEN, OrderStatus.TAKEN]),
        col(CourseOrder.id).not_in(backed),
    ).order_by(col(CourseOrder.backers).desc(), col(CourseOrder.id)).limit(limit))).scalars())
    found = [Suggestion(title=o.topic, order_id=o.id, backers=o.backers,
                        titles=dict(o.titles or {})) for o in orders]
    ordered = select(col(CourseOrder.course_id)).where(
        col(CourseOrder.community_id) == community_id, col(CourseOrder.course_id).is_not(None),
        col(CourseOrder.status).in_([OrderStatus.OPEN, OrderStatus.TAKEN]))
    if len(found) < limit:
        menu = (await session.execute(select(Course).where(
            col(Course.community_id) == community_id,
            col(Course.status) == CourseStatus.APPROVED, col(Course.id).not_in(ordered),
        ).order_by(col(Course.title), col(Course.id)).limit(limit - len(found)))).scalars()
        found += [Suggestion(title=c.title, course_id=c.id, titles=dict(c.titles or {}))
                  for c in menu]
    return found


async def match_topic(session: AsyncSession, *, community_id: int, user_id: int,
                      topic: str) -> tuple[CourseOrder | None, Category | None]:
    """What a typed topic matches, in any category: a neighbour's open order to back instead
    (one's own counts too: it is not ordered twice), and the category of the order or menu
    course it names, so the resident need not choose one."""
    wanted = normalise(topic)
    if not wanted:
        return None, None
    orders = (await session.execute(select(CourseOrder).where(
        col(CourseOrder.community_id) == community_id,
        col(CourseOrder.status).in_([OrderStatus.OPEN, OrderStatus.TAKEN]),
    ).order_by(col(CourseOrder.id)))).scalars().all()
    for order in orders:
        if alike(wanted, normalise(order.topic)):
            return order, order.category
    menu = (await session.execute(select(Course).where(
        col(Course.community_id) == community_id, col(Course.status) == CourseStatus.APPROVED,
    ).order_by(col(Course.id)))).scalars().all()
    for course in menu:
        if alike(wanted, normalise(course.title)):
            return None, course.category
    return None, None


async def create_order(
    session: AsyncSession, *, user: User, clock: Clock, category: Category | None = None,
    topic: str | None = None, course_id: int | None = None, days: int = 0,
    time_of_day: TimeOfDay = TimeOfDay.ANY, expected: int = 1, force: bool = False,
    draft: str | None = None,
) -> CourseOrder:
    """A resident orders a menu course or a topic of their own.

    Raises SimilarOrder when an open order asks for the same thing (unless
    `force`, and never past one of their own), so the resident can back that one
    instead. The same `draft` (the conversation's token) sent again returns the order it
    made: a double tap on the last step files it once.
    """
    assert user.id is not None
    if user.community_id is None:
        raise InvalidInput("community", "missing")
    titles: dict[str, str] = {}
    if course_id is not None:
        course = await session.get(Course, course_id)
        if (course is None or course.community_id != user.community_id
                or course.status != CourseStatus.APPROVED):
            raise Gone(f"course {course_id}")
        topic, category, titles = course.title, course.category, dict(course.titles or {})
    if category is None:
        raise InvalidInput("category", "missing")
    category = Category(category)
    topic = clean_text(topic or "", field="topic", limit=TITLE_MAX)
    if not 0 <= days <= ALL_DAYS:
        raise InvalidInput("days", "out_of_range")
    if expected != NOT_KNOWN:
        check_range(expected, field="expected", bounds=EXPECTED_RANGE)
    async with write(session):
        # One of the person's drafts at a time (a double tap on the last step sends it
        # twice, at once): the second finds the first's order, their own.
        await session.execute(select(col(User.id)).where(col(User.id) == user.id)
                              .with_for_update())
        if draft is not None:
            made = (await session.execute(select(CourseOrder).where(
                col(CourseOrder.draft) == draft, col(CourseOrder.user_id) == user.id)
                .execution_options(populate_existing=True))).scalar_one_or_none()
            if made is not None:
                return made
        own = await find_similar(session, community_id=user.community_id, category=category,
                                 topic=topic, course_id=course_id, user_id=user.id)
        if own is not None and own.id is not None:
            raise SimilarOrder(own.id, own=True)
        similar = await find_similar(session, community_id=user.community_id, category=category,
                                     topic=topic, course_id=course_id)
        if similar is not None and similar.id is not None and not force:
            raise SimilarOrder(similar.id, own=False)
        order = CourseOrder(community_id=user.community_id, user_id=user.id, course_id=course_id,
                            topic=topic, titles=titles, category=category, days=days,
                            time_of_day=TimeOfDay(time_of_day), expected=expected,
                            created_at=clock.now(), draft=draft)
        session.add(order)
        return order


async def back_order(
    session: AsyncSession, *, user: User, clock: Clock, order_id: int, buttons: Buttons,
    notify: Notify | None = None,
) -> CourseOrder:
    """ "Me too": one tap, once per person; may cross the threshold and alert staff."""
    assert user.id is not None
    async with write(session):
        order = await _locked_order(session, order_id)
        if order is None or order.community_id != user.community_id:
            raise Gone(f"order {order_id}")  # or forged: another community's order
        if order.status not in (OrderStatus.OPEN, OrderStatus.TAKEN):
            raise OrderClosed(order.status)
        if order.user_id == user.id:
            raise AlreadyBacked("own order")
        try:
            async with session.begin_nested():
                session.add(OrderBacking(order_id=order_id, user_id=user.id,
                                         created_at=clock.now()))
        except IntegrityError:
            raise AlreadyBacked(f"order {order_id}") from None
        order.backers += 1
        session.add(order)
        rules = await get_rules(session, community_id=order.community_id)
        if order.backers >= rules.threshold and order.alerted_at is None:
            order.alerted_at = clock.now()
            await _alert(session, clock=clock, order=order, buttons=buttons, notify=notify)
        return order


async def _community_name(session: AsyncSession, community_id: int) -> str:
    community = await session.get(Community, community_id)
    return community.name if community else ""


async def _alert(
    session: AsyncSession, *, clock: Clock, order: CourseOrder, buttons: Buttons,
    notify: Notify | None,
) -> None:
    """Tell staff and the category's teachers that an order has enough backers."""
    assert order.id is not None
    teachers = await teachers_of(session, community_id=order.community_id,
                                 category=order.category)
    recipients = {t.id for t in teachers if t.id is not None}
    recipients.update(await staff_of(session, community_id=order.community_id))
    keyboard = buttons.order(order.id)
    rows = [Outgoing(
        user_id=uid, kind=OutboxKind.COURSE_NEWS,
        key=N_("📣 {count} neighbours want the course “{topic}” · {community}. Who can "
               "teach it?"),
        params={"count": order.backers + 1, "topic": topic_of(order),
                "community": await _community_name(session, order.community_id)},
        keyboard=keyboard,
        dedupe_key=alert_key(order.id, uid), about=order.user_id)
        for uid in sorted(recipients)]
    await outbox.queue_many(session, clock=clock, rows=rows, notify=notify)


async def unback_order(
    session: AsyncSession, *, user: User, order_id: int
) -> CourseOrder:
    """Take back one's "me too"."""
    async with write(session):
        order = await _locked_order(session, order_id)
        if order is None:
            raise Gone(f"order {order_id}")
        result = cast(CursorResult[Any], await session.execute(delete(OrderBacking).where(
            col(OrderBacking.order_id) == order_id, col(OrderBacking.user_id) == user.id)))
        if result.rowcount:
            order.backers = max(0, order.backers - 1)
            session.add(order)
        return order


async def withdraw_order(
    session: AsyncSession, *, user: User, clock: Clock, order_id: int,
    notify: Notify | None = None,
) -> CourseOrder:
    """The orderer withdraws an order nobody has scheduled yet; backers are told."""
    async with write(session):
        order = await _locked_order(session, order_id)
        if order is None or order.user_id != user.id:
            raise Gone(f"order {order_id}")
        if order.status == OrderStatus.WITHDRAWN:
            return order
        if order.status not in (OrderStatus.OPEN, OrderStatus.TAKEN):
            raise OrderClosed(order.status)
        order.status = OrderStatus.WITHDRAWN
        session.add(order)
        told = set(await backers_of(session, order_id=order_id))
        if order.taken_by is not None:
            told.add(order.taken_by)
        await outbox.queue_many(session, clock=clock, notify=notify, rows=[Outgoing(
            user_id=uid, kind=OutboxKind.STATUS,
            key=N_("The order “{topic}” was withdrawn by the person who made it."),
            params={"topic": topic_of(order)}, dedupe_key=withdrawn_key(order_id, uid),
            about=order.user_id) for uid in told])
        return order


async def backers_of(session: AsyncSession, *, order_id: int) -> list[int]:
    rows = await session.execute(select(col(OrderBacking.user_id)).where(
        col(OrderBacking.order_id) == order_id).order_by(col(OrderBacking.id)))
    return [uid for (uid,) in rows.all()]


async def has_backed(session: AsyncSession, *, order_id: int, user_id: int) -> bool:
    found = await session.execute(select(col(OrderBacking.id)).where(
        col(OrderBacking.order_id) == order_id, col(OrderBacking.user_id) == user_id))
    return found.first() is not None


async def take_order(
    session: AsyncSession, *, access: Access, clock: Clock, order_id: int,
    teacher_id: int | None = None, buttons: Buttons | None = None,
    notify: Notify | None = None,
) -> CourseOrder:
    """A teacher takes an open order; when two tap together exactly one wins.

    Staff may take it on behalf of one of the community's teachers (`teacher_id`), who is
    told (with a button to the order, given `buttons`).
    The claim is one conditional UPDATE (status still open), so the loser sees
    OrderClosed("taken").
    """
    order = await get_order(session, order_id=order_id)
    teacher = teacher_id or access.user_id
    if teacher == access.user_id:
        if order.community_id not in access.teacher_of:
            raise NotTeacherHere(f"not a teacher of {order.community_id}")
    else:
        access.require_manage(order.community_id)
        if teacher not in {t.id for t in await teachers_of(
                session, community_id=order.community_id)}:
            raise NotTeacherHere(f"user {teacher} does not teach in {order.community_id}")
    async with write(session):
        now = clock.now()
        claimed = cast(CursorResult[Any], await session.execute(
            update(CourseOrder)
            .where(col(CourseOrder.id) == order_id, col(CourseOrder.status) == OrderStatus.OPEN)
            .values(status=OrderStatus.TAKEN, taken_by=teacher, taken_at=now)
            .execution_options(synchronize_session=False)))
        if claimed.rowcount != 1:
            await session.refresh(order)  # who won, and so what the loser is told
            raise OrderClosed(order.status)
        await outbox.queue(
            session, clock=clock, user_id=order.user_id, kind=OutboxKind.STATUS,
            key=N_("👩‍🏫 A teacher has taken your order “{topic}”. You will hear when a "
                   "session is scheduled."), params={"topic": topic_of(order)},
            dedupe_key=taken_key(order_id, now), notify=notify)
        if teacher != access.user_id:
            await outbox.queue(
                session, clock=clock, user_id=teacher, kind=OutboxKind.STATUS,
                key=N_("🧑‍🏫 Staff have given you the order “{topic}” · {community}. Please "
                       "schedule a session for it, or give it back."),
                params={"topic": topic_of(order), "community": await _community_name(
                    session, order.community_id)},
                keyboard=buttons.order(order_id) if buttons is not None else None,
                dedupe_key=given_key(order_id, now), notify=notify)
        audit.record(session, clock=clock, actor_id=access.user_id, action="order.take",
                     community_id=order.community_id, order_id=order_id, teacher_id=teacher)
    await session.refresh(order)
    return order


async def release_order(
    session: AsyncSession, *, access: Access, clock: Clock, order_id: int,
    notify: Notify | None = None,
) -> CourseOrder:
    """The teacher who took an order gives it back (staff may too): open again. The
    resident's "a teacher has taken your order" is withdrawn if it has not gone out yet,
    else they are told it is open again."""
    async with write(session):
        order = await _locked_order(session, order_id)
        if order is None:
            raise Gone(f"order {order_id}")
        if order.taken_by != access.user_id and not access.can_manage(order.community_id):
            raise NotTeacherHere("not the teacher of this order")
        if order.status != OrderStatus.TAKEN:
            raise OrderClosed(order.status)
        if order.taken_at is not None:
            taken = taken_key(order_id, order.taken_at)
            told = (await session.execute(select(col(OutboxMessage.id)).where(
                col(OutboxMessage.dedupe_key) == taken,
                col(OutboxMessage.status).in_([OutboxStatus.SENT, OutboxStatus.SENDING]))
            )).first() is not None
            await withdraw(session, dedupe_key=taken)
            await withdraw(session, dedupe_key=given_key(order_id, order.taken_at))
            if told:
                await outbox.queue(
                    session, clock=clock, user_id=order.user_id, kind=OutboxKind.STATUS,
                    key=N_("↩️ The teacher cannot teach it after all: your order “{topic}” is "
                           "open again for other teachers."), params={"topic": topic_of(order)},
                    dedupe_key=released_key(order_id, order.taken_at), notify=notify)
        order.status, order.taken_by, order.taken_at = OrderStatus.OPEN, None, None
        session.add(order)
        audit.record(session, clock=clock, actor_id=access.user_id, action="order.release",
                     community_id=order.community_id, order_id=order_id)
        return order


async def community_orders(
    session: AsyncSession, *, community_id: int, statuses: tuple[OrderStatus, ...] = (
        OrderStatus.OPEN,), categories: set[Category] | None = None, page: int = 0,
    per_page: int = PER_PAGE,
) -> Page[CourseOrder]:
    """A community's orders, most backed first."""
    where: list[Any] = [col(CourseOrder.community_id) == community_id,
                        col(CourseOrder.status).in_(statuses)]
    if categories:
        where.append(col(CourseOrder.category).in_(sorted(categories)))
    total = int((await session.execute(
        select(func.count()).select_from(CourseOrder).where(*where))).scalar_one())
    page, pages = paging(total, page, per_page)
    rows = await session.execute(
        select(CourseOrder).where(*where)
        .order_by(col(CourseOrder.backers).desc(), col(CourseOrder.id))
        .offset(page * per_page).limit(per_page))
    return Page(items=list(rows.scalars().all()), page=page, pages=pages)


async def orders_for_teacher(
    session: AsyncSession, *, access: Access, page: int = 0
) -> Page[CourseOrder]:
    """Open orders of the teacher's communities in the categories they teach (all
    categories while they have chosen none)."""
    subjects = await subjects_of(session, user_id=access.user_id)
    where: list[Any] = [col(CourseOrder.community_id).in_(sorted(access.teacher_of)),
                        col(CourseOrder.status) == OrderStatus.OPEN]
    if subjects:
        where.append(col(CourseOrder.category).in_(sorted(subjects)))
    total = int((await session.execute(
        select(func.count()).select_from(CourseOrder).where(*where))).scalar_one())
    page, pages = paging(total, page)
    rows = await session.execute(
        select(CourseOrder).where(*where)
        .order_by(col(CourseOrder.backers).desc(), col(CourseOrder.id))
        .offset(page * PER_PAGE).limit(PER_PAGE))
    return Page(items=list(rows.scalars().all()), page=page, pages=pages)


async def taken_by(session: AsyncSession, *, teacher_id: int) -> list[CourseOrder]:
    """Orders a teacher took and has not scheduled yet."""
    rows = await session.execute(select(CourseOrder).where(
        col(CourseOrder.taken_by) == teacher_id, col(CourseOrder.status) == OrderStatus.TAKEN,
    ).order_by(col(CourseOrder.taken_at)))
    return list(rows.scalars().all())


@dataclass(frozen=True)
class MyOrders:
    ordered: list[CourseOrder]
    backed: list[CourseOrder]


async def my_orders(session: AsyncSession, *, user_id: int) -> MyOrders:
    """Orders a resident made or backed that are still alive."""
    alive = [OrderStatus.OPEN, OrderStatus.TAKEN]
    ordered = await session.execute(select(CourseOrder).where(
        col(CourseOrder.user_id) == user_id, col(CourseOrder.status).in_(alive))
        .order_by(col(CourseOrder.id)))
    backed = await session.execute(
        select(CourseOrder).join(OrderBacking, col(OrderBacking.order_id) == col(CourseOrder.id))
        .where(col(OrderBacking.user_id) == user_id, col(CourseOrder.status).in_(alive))
        .order_by(col(CourseOrder.id)))
    return MyOrders(ordered=list(ordered.scalars().all()), backed=list(backed.scalars().all()))


# --- Privacy --------------------------------------------------------------------------


async def erase_orders(session: AsyncSession, user_id: int, _now: datetime) -> None:
    """/deleteme: blank the topics the person wrote; their orders nobody has scheduled are
    withdrawn (a topic-less order teaches nothing). Rows stay for the counts. Runs in
    erase_user's write transaction."""
    await session.execute(
        update(CourseOrder).where(col(CourseOrder.user_id) == user_id,
                                  col(CourseOrder.status).in_((OrderStatus.OPEN,
                                                               OrderStatus.TAKEN)))
        .values(status=OrderStatus.WITHDRAWN).execution_options(synchronize_session=False))
    await session.execute(
        update(CourseOrder).where(col(CourseOrder.user_id) == user_id).values(topic="", titles={})
        .execution_options(synchronize_session=False))
