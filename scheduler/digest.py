"""The daily digest sweep: staff whose chosen time has come get what needs them today.

Safe to run twice and on several replicas: each digest is queued with one dedupe key
per person per local day (the outbox drops a second), and someone who already has
today's is skipped before anything is counted. The text is said here, in the person's
language, because its lines vary; the outbox sends it as it is, after their quiet hours.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.i18n import load_i18n
from bot.keyboards.outbox import OutboxKeyboards
from bot.labels import category_text
from bot.when import current_locale, say_moment
from models.db import write
from models.outbox import OutboxKind, OutboxMessage
from services import digest, outbox
from services.clock import Clock
from services.digest import ItemKind
from services.text import cut
from services.titles import pick

Notify = Callable[[], None]
TEXT_MAX = 4096
LABEL_MAX = 48


def say_item(item: digest.Item, *, now: datetime, digest_of: digest.Digest) -> str:
    """One line, plain (escaped where it goes into the message)."""
    when = say_moment(item.at, digest_of.zone, now=now) if item.at else ""
    if item.titles:  # a title staff gave in the reader's language too
        item = replace(item, title=pick(item.title, item.titles, current_locale()))
    if item.kind == ItemKind.UNTOUCHED:
        return ngettext("🗂 Report #{id} ({category}): untouched for {n} day",
                        "🗂 Report #{id} ({category}): untouched for {n} days", item.count).format(
            id=item.id, category=category_text(item.title), n=item.count)
    if item.kind == ItemKind.LOW_REPORT:
        return _("⭐ Report #{id} was rated {n} ⭐").format(id=item.id, n=item.count)
    if item.kind == ItemKind.LOW_LESSON:
        return _("⭐ “{title}” was rated {n} ⭐").format(title=item.title, n=item.count)
    if item.kind == ItemKind.HOURS:
        return ngettext("⏱ “{title}”, {when}: {n} place waits for hours",
                        "⏱ “{title}”, {when}: {n} places wait for hours", item.count).format(
            title=item.title, when=when, n=item.count)
    if item.kind == ItemKind.OFFER:
        return _("📚 A course offer waits for your decision: “{title}”").format(title=item.title)
    if item.kind == ItemKind.CANCELLED:
        return _("🚫 “{title}”, {when}, was cancelled by its teacher").format(
            title=item.title, when=when)
    if item.kind == ItemKind.POLL:
        return _("🗳 Poll “{title}” closes {when}").format(title=item.title, when=when)
    return ngettext("🪑 “{title}”, {when}: {n} of {total} seat free",
                    "🪑 “{title}”, {when}: {n} of {total} seats free", item.total).format(
        title=item.title, when=when, n=item.count, total=item.total)


def render(digests: list[digest.Digest], *, now: datetime,
           buttons: digest.Buttons) -> tuple[str, dict[str, Any]]:
    """The digest's text and one button per line, in the current language."""
    parts, rows = [], []
    number = 0
    for found in digests:
        head = _("📬 Daily digest · {community}").format(community=html.escape(found.community))
        if not found.items:
            parts.append(head + "\n" + _("Nothing needs you today. 🌿"))
            continue
        lines = []
        for item in found.items:
            number += 1
            plain = say_item(item, now=now, digest_of=found)
            lines.append(f"{number}. {html.escape(plain)}")
            rows.append([{"text": cut(f"{number}. {plain}", LABEL_MAX),
                          "callback_data": buttons.digest_item(found.community_id, item)}])
        parts.append(head + "\n" + "\n".join(lines))
    text = "\n\n".join(parts)
    while len(text.encode("utf-16-le")) // 2 > TEXT_MAX:  # cut at a line's end
        text = text.rsplit("\n", 1)[0]
    return text, {"inline_keyboard": rows}


async def staff_digests(
    *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, notify: Notify,
    keyboards: OutboxKeyboards,
) -> None:
    """Queue today's digest for everyone whose time has come and who has not had it."""
    i18n = load_i18n()
    now = clock.now()
    async with sessionmaker() as session:
        for person in await digest.due(session, clock=clock):
            assert person.user.id is not None
            key = digest.dedupe_key(person.user.id, person.day)
            queued = (await session.execute(select(col(OutboxMessage.id)).where(
                col(OutboxMessage.dedupe_key) == key))).first()
            if queued is not None:
                continue
            digests = [await digest.collect(session, clock=clock, community_id=cid)
                       for cid in person.community_ids]
            locale = person.user.locale or i18n.default_locale
            with i18n.context(), i18n.use_locale(locale):
                text, keyboard = render(digests, now=now, buttons=keyboards.district)
            async with write(session):
                await outbox.queue(session, clock=clock, user_id=person.user.id,
                                   kind=OutboxKind.STATUS, text=text,
                                   keyboard=keyboard if keyboard["inline_keyboard"] else None,
                                   dedupe_key=key, notify=notify)
