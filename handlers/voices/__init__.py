"""💬 Residents' voices: one router for concerns, ideas and polls.

What lives where:

- `concerns`: the 💬 My voice screen and a resident's reports and ideas.
- `concern_staff`: 🗂 Reports to handle: staff triage and answer them.
- `polls`: answering a poll, one question at a time.
- `poll_staff`: 📊 Run polls: compose, publish, results as a chart, export.

The rules are in `services/concerns.py` and `services/polls.py`.
"""

from __future__ import annotations

from aiogram import Router

from handlers.voices import concern_staff, concerns, poll_staff, polls

router = Router(name=__name__)
router.include_routers(concerns.router, concern_staff.router, polls.router, poll_staff.router)
