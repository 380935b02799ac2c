"""🗳 Answering polls: one question at a time, with big buttons.

```mermaid
stateDiagram-v2
    [*] --> Question: 🗳 Answer (invitation) / a poll under 🗳 Polls for me
    Question --> Question: single choice picked (next question)
    Question --> Question: multiple choice ticked / unticked
    Question --> Other: ✍️ Something else
    Other --> Question: text sent (next question)
    Question --> Question: Next ▶ / ◀ Back
    Question --> [*]: ✅ Finish (answers are kept; can be changed until closing)
```

Each tap is saved at once by `services.polls.answer`, which re-checks that
the poll is open and meant for this person.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data import PollAction, PollCb, VoiceAction, VoiceCb
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.replies import answer_out_of_date, out_of_date
from models.communities import Community
from models.polls import OTHER_MAX, Poll
from models.users import User
from services import polls
from services.clock import Clock
from services.errors import DomainError, InvalidInput, NotFound

router = Router(name=__name__)
FINISH = 99  # question number meaning "finished"


class PollStates(StatesGroup):
    other = State()


def refusal(error: DomainError) -> str:
    if isinstance(error, polls.PollClosed):
        return _("This poll has closed. Thank you for your interest!")
    if isinstance(error, polls.NotInAudience):
        return _("This poll is not for you.")
    if isinstance(error, NotFound):
        return out_of_date()
    return _("That is not possible now.")


async def closes_text(session: AsyncSession, poll: Poll) -> str:
    community = await session.get(Community, poll.community_id)
    zone = ZoneInfo(community.timezone if community else "Asia/Shanghai")
    return poll.closes_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


@router.callback_query(VoiceCb.filter(F.action == VoiceAction.POLLS))
async def on_list(callback: CallbackQuery, user: User, session: AsyncSession,
                  clock: Clock) -> None:
    """🗳 Polls for me: the open polls put to this person."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    await callback.answer()
    found = await polls.open_for(session, clock=clock, user=user)
    if not found:
        await callback.message.answer(_("There are no polls for you right now."))
        return
    builder = InlineKeyboardBuilder()
    for poll in found:
        builder.button(text="🗳 " + poll.title[:60], callback_data=PollCb(
            action=PollAction.OPEN, id=poll.id or 0))
    builder.adjust(1)
    await callback.message.answer(_("Polls for you:"), reply_markup=builder.as_markup())


async def show_question(message: Message, session: AsyncSession, user: User, poll: Poll,
                        position: int, edit: bool) -> None:
    """One question with its choices; a tick shows what this person chose."""
    assert poll.id is not None
    questions = await polls.questions_of(session, poll_id=poll.id)
    if position >= len(questions):
        text = _("✅ Thank you! Your answers are saved. You can change them until {time}."
                 ).format(time=await closes_text(session, poll))
        builder = InlineKeyboardBuilder()
        builder.button(text=_("✏️ Change my answers"), callback_data=PollCb(
            action=PollAction.OPEN, id=poll.id))
        if edit:
            await message.edit_text(text, reply_markup=builder.as_markup())
        else:
            await message.answer(text, reply_markup=builder.as_markup())
        return
    question = questions[position]
    mine = (await polls.answers_of(session, poll_id=poll.id, user_id=user.id or 0)).get(
        question.id or 0)
    chosen = set(mine.choices) if mine else set()
    lines = [f"🗳 <b>{html.escape(poll.title)}</b>",
             _("Question {n} of {total}").format(n=position + 1, total=len(questions)),
             "", html.escape(question.text), "",
             _("Choose all that fit, then press Next.") if question.multiple
             else _("Choose one.")]
    if mine and mine.other_text:
        lines.append(_("Your own answer: {text}").format(text=html.escape(mine.other_text)))
    builder = InlineKeyboardBuilder()
    for index, option in enumerate(question.options):
        mark = "✅ " if index in chosen else ("⬜ " if question.multiple else "")
        builder.button(text=mark + option, callback_data=PollCb(
            action=PollAction.PICK, id=poll.id, n=position, o=index))
    if question.allow_other:
        builder.button(text=_("✍️ Something else (write it)"), callback_data=PollCb(
            action=PollAction.OTHER, id=poll.id, n=position))
    navigation = 0
    if position > 0:
        builder.button(text=_("◀ Back"), callback_data=PollCb(
            action=PollAction.OPEN, id=poll.id, n=position - 1, o=1))
        navigation += 1
    if question.multiple or mine is not None:
        last = position == len(questions) - 1
        builder.button(text=_("✅ Finish") if last else _("Next ▶"), callback_data=PollCb(
            action=PollAction.OPEN, id=poll.id, n=FINISH if last else position + 1, o=1))
        navigation += 1
    rows = [1] * (len(question.options) + int(question.allow_other))
    builder.adjust(*rows, navigation or 1)
    text = "\n".join(lines)
    if edit:
        await message.edit_text(text, reply_markup=builder.as_markup())
    else:
        await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(PollCb.filter())
async def on_poll_button(callback: CallbackQuery, callback_data: PollCb, user: User,
                         session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """Opening a poll, picking a choice, writing "something else" (all re-checked)."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    message = callback.message
    poll_id, position = callback_data.id, callback_data.n
    try:
        poll = await polls.poll_for_answering(session, clock=clock, user_id=user.id or 0,
                                              poll_id=poll_id)
        if callback_data.action == PollAction.OPEN:
            await callback.answer()
            # Back / Next edit the question in place (o=1); from an invitation or a list
            # the poll opens as a new message, so the invitation stays readable.
            await show_question(message, session, user, poll, position,
                                edit=callback_data.o == 1)
        elif callback_data.action == PollAction.PICK:
            await polls.answer(session, clock=clock, user=user, poll_id=poll_id,
                               position=position, option=callback_data.o)
            questions = await polls.questions_of(session, poll_id=poll_id)
            if not 0 <= position < len(questions):
                raise NotFound(f"question {position}")
            await callback.answer(_("Saved."))
            # A single choice moves on by itself: one tap per question.
            following = position if questions[position].multiple else position + 1
            await show_question(message, session, user, poll, following, edit=True)
        elif callback_data.action == PollAction.OTHER:
            questions = await polls.questions_of(session, poll_id=poll_id)
            if not 0 <= position < len(questions) or not questions[position].allow_other:
                raise NotFound(f"question {position}")
            await callback.answer()
            await state.set_state(PollStates.other)
            await state.update_data(poll_id=poll_id, position=position)
            await message.answer(_("Write your answer in a few words (or /cancel):"))
        else:
            await answer_out_of_date(callback)
    except DomainError as error:
        await callback.answer(refusal(error), show_alert=True)


@router.message(PollStates.other, F.text & ~F.text.startswith("/"))
async def on_other(message: Message, user: User, session: AsyncSession, state: FSMContext,
                   clock: Clock) -> None:
    """The "something else" answer in words."""
    data = await state.get_data()
    poll_id, position = int(data["poll_id"]), int(data["position"])
    try:
        await polls.answer(session, clock=clock, user=user, poll_id=poll_id,
                           position=position, other_text=message.text or "")
    except InvalidInput as error:
        await message.answer(
            _("That is too long: please keep it under {max} characters.").format(max=OTHER_MAX)
            if error.reason == "too_long" else _("Please write a few words."))
        return
    except DomainError as error:
        await state.clear()
        await message.answer(refusal(error))
        return
    await state.clear()
    poll = await polls.get_poll(session, poll_id=poll_id)
    await show_question(message, session, user, poll, position + 1, edit=False)


@router.message(PollStates.other)
async def on_other_kind(message: Message) -> None:
    """A photo or sticker where words are wanted."""
    await message.answer(_("Please write your answer in words (or /cancel)."))
