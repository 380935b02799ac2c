"""💬 Residents' voices: one router for concerns, ideas and polls.

What lives where:

- `concerns`: the 💬 My voice screen and a resident's reports and ideas.
- `concern_staff`: 🗂 Reports to handle: staff triage and answer them.
- `polls`: answering a poll, one question at a time.
- `poll_staff`: 📊 Run polls: compose, publish, results as a chart, export.
- `common`: what they share beyond bot/screens.py (taking a finished step's buttons off).

The rules, and what each screen may offer (`concerns.own_view`, `idea_view`,
`staff_view`; `polls.question_view`, `staff_view`), are in `services/concerns.py` and
`services/polls.py`. Buttons: `bot/callback_data/voices.py`, one class per purpose.
Refusals: the voices section of `bot/replies.py` (status and category names in
`bot/labels.py`). Every view built from people's words goes out through
`bot/fit.py`, which fits it to Telegram's limits.
"""

from __future__ import annotations

from aiogram import Router

from handlers.voices import concern_staff, concerns, poll_staff, polls

router = Router(name=__name__)
router.include_routers(concerns.router, concern_staff.router, polls.router, poll_staff.router)
