"""🗳 Answering polls: one question at a time, with big buttons.

```mermaid
stateDiagram-v2
    [*] --> Question: 🗳 Answer (invitation) / a poll under 🗳 Polls for me
    Question --> Question: single choice picked (next question)
    Question --> Question: multiple choice ticked / unticked
    Question --> Other: ✍️ Something else
    Other --> Other: empty or too long, in UTF-16 units (asked again)
    Other --> Question: text sent (next question)
    Other --> [*]: the poll closed meanwhile (refused)
    Question --> Question: Next ▶ / ◀ Back
    Question --> [*]: ✅ Finish (answers are kept; can be changed until closing)
```

Each tap is saved at once by `services.polls.answer`, which re-checks that
the poll is open and meant for this person; the buttons drawn are those
`polls.question_view` allows. Refusals are answered by the error router.
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callback_data.voices import PollOpenCb, PollOtherCb, PollPickCb, VoiceAction, VoiceCb
from bot.fit import send_fitted
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.screens import send
from bot.when import say_moment
from models.polls import Poll
from models.users import User
from services import polls
from services.clock import Clock
from services.communities import zone_of
from services.errors import DomainError, InvalidInput, NotFound
from services.text import cut

router = Router(name=__name__)
FINISH = 99  # question number meaning "finished"


class PollStates(StatesGroup):
    other = State()


async def closes_text(session: AsyncSession, poll: Poll, clock: Clock) -> str:
    """When the poll closes, as people say it, in its community's time zone."""
    return say_moment(poll.closes_at, await zone_of(session, poll.community_id),
                      now=clock.now())


@router.callback_query(VoiceCb.filter(F.action == VoiceAction.POLLS))
async def on_list(callback: CallbackQuery, user: User, session: AsyncSession,
                  clock: Clock) -> None:
    """🗳 Polls for me: the open polls put to this person."""
    await callback.answer()
    found = await polls.open_for(session, clock=clock, user=user)
    if not found:
        await send(callback, _("There are no polls for you right now."))
        return
    builder = InlineKeyboardBuilder()
    for poll in found:
        builder.button(text="🗳 " + cut(poll.title, 60), callback_data=PollOpenCb(
            poll_id=poll.id or 0))
    builder.adjust(1)
    await send(callback, _("Polls for you:"), reply_markup=builder.as_markup())


def question_text(view: polls.QuestionView) -> str:
    """One question as its answerer reads it."""
    question = view.question
    lines = [f"🗳 <b>{html.escape(view.poll.title)}</b>",
             _("Question {n} of {total}").format(n=view.position + 1, total=view.total),
             "", html.escape(question.text), "",
             _("Choose all that fit, then press Next.") if question.multiple
             else _("Choose one.")]
    if view.other_text:
        lines.append(_("Your own answer: {text}").format(text=html.escape(view.other_text)))
    return "\n".join(lines)


async def show_question(event: CallbackQuery | Message, session: AsyncSession, user: User,
                        poll: Poll, position: int, clock: Clock, in_place: bool) -> None:
    """One question with its choices, as `polls.question_view` allows; a tick shows what
    this person chose. `in_place` edits the pressed message, else a new one is sent."""
    assert poll.id is not None
    view = await polls.question_view(session, poll=poll, user_id=user.id or 0,
                                     position=position)
    builder = InlineKeyboardBuilder()
    if view is None:
        text = _("✅ Thank you! Your answers are saved. You can change them until {time}."
                 ).format(time=await closes_text(session, poll, clock))
        builder.button(text=_("✏️ Change my answers"), callback_data=PollOpenCb(
            poll_id=poll.id))
        await send_fitted(event, text, reply_markup=builder.as_markup(), new=not in_place)
        return
    question = view.question
    for index, option in enumerate(question.options):
        mark = "✅ " if index in view.chosen else ("⬜ " if question.multiple else "")
        builder.button(text=mark + option, callback_data=PollPickCb(
            poll_id=poll.id, position=position, option=index,
            on=index not in view.chosen))
    if view.can_write_other:
        builder.button(text=_("✍️ Something else (write it)"), callback_data=PollOtherCb(
            poll_id=poll.id, position=position))
    navigation = 0
    if view.can_go_back:
        builder.button(text=_("◀ Back"), callback_data=PollOpenCb(
            poll_id=poll.id, position=position - 1, in_place=True))
        navigation += 1
    if view.can_go_on:
        builder.button(text=_("✅ Finish") if view.is_last else _("Next ▶"),
                       callback_data=PollOpenCb(
                           poll_id=poll.id, position=FINISH if view.is_last else position + 1,
                           in_place=True))
        navigation += 1
    rows = [1] * (len(question.options) + int(view.can_write_other))
    builder.adjust(*rows, navigation or 1)
    await send_fitted(event, question_text(view), reply_markup=builder.as_markup(),
                      new=not in_place)


@router.callback_query(PollOpenCb.filter())
async def on_open(callback: CallbackQuery, callback_data: PollOpenCb, user: User,
                  session: AsyncSession, clock: Clock, state: FSMContext) -> None:
    """A poll at one question (re-checked: open, and put to this person). Back / Next
    edit the question in place; from an invitation or a list the poll opens as a new
    message, so the invitation stays readable."""
    poll = await polls.poll_for_answering(session, clock=clock, user_id=user.id or 0,
                                          poll_id=callback_data.poll_id)
    await callback.answer()
    if await state.get_state() == PollStates.other.state:
        await state.clear()  # ◀ Back from writing "something else": nothing kept
    await show_question(callback, session, user, poll, callback_data.position, clock,
                        in_place=callback_data.in_place)


@router.callback_query(PollPickCb.filter())
async def on_pick(callback: CallbackQuery, callback_data: PollPickCb, user: User,
                  session: AsyncSession, clock: Clock) -> None:
    """A choice, saved at once; a single choice moves on by itself (one tap per question)."""
    poll_id, position = callback_data.poll_id, callback_data.position
    poll = await polls.poll_for_answering(session, clock=clock, user_id=user.id or 0,
                                          poll_id=poll_id)
    await polls.answer(session, clock=clock, user=user, poll_id=poll_id,
                       position=position, option=callback_data.option, on=callback_data.on)
    view = await polls.question_view(session, poll=poll, user_id=user.id or 0,
                                     position=position)
    if view is None:
        raise NotFound(f"question {position}")
    await callback.answer(_("Saved."))
    following = position if view.question.multiple else position + 1
    await show_question(callback, session, user, poll, following, clock, in_place=True)


@router.callback_query(PollOtherCb.filter())
async def on_write_other(callback: CallbackQuery, callback_data: PollOtherCb, user: User,
                         session: AsyncSession, state: FSMContext, clock: Clock) -> None:
    """✍️ Something else: the answer comes as text."""
    poll = await polls.poll_for_answering(session, clock=clock, user_id=user.id or 0,
                                          poll_id=callback_data.poll_id)
    view = await polls.question_view(session, poll=poll, user_id=user.id or 0,
                                     position=callback_data.position)
    if view is None or not view.can_write_other:
        raise NotFound(f"question {callback_data.position}")
    await callback.answer()
    await state.set_state(PollStates.other)
    await state.update_data(poll_id=poll.id, position=callback_data.position)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("◀ Back"), callback_data=PollOpenCb(
        poll_id=poll.id or 0, position=callback_data.position, in_place=True))
    await send(callback, _("Write your answer in a few words:"),
               reply_markup=builder.as_markup())


@router.message(PollStates.other, F.text & ~F.text.startswith("/"))
async def on_other(message: Message, user: User, session: AsyncSession, state: FSMContext,
                   clock: Clock) -> None:
    """The "something else" answer in words."""
    data = await state.get_data()
    poll_id, position = int(data["poll_id"]), int(data["position"])
    try:
        await polls.answer(session, clock=clock, user=user, poll_id=poll_id,
                           position=position, other_text=message.text or "")
    except InvalidInput:
        raise  # empty or too long: the error router says why and the step stays
    except DomainError:
        await state.clear()  # the poll closed meanwhile: the step ends
        raise
    await state.clear()
    poll = await polls.get_poll(session, poll_id=poll_id)
    await show_question(message, session, user, poll, position + 1, clock, in_place=False)


@router.message(PollStates.other)
async def on_other_kind(message: Message) -> None:
    """A photo or sticker where words are wanted."""
    await message.answer(_("Please write your answer in words, or press ◀ Back."))
