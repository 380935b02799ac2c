"""🙋 Volunteers: one router for the whole feature.

What lives where:

- `home`: the volunteer's side: the 🙋 Volunteer screen, profile (skills, free
  times), claiming shifts, reminders' answers, check-in and out, my hours.
- `tasks`: staff compose a task and its shifts (words typed, everything else buttons).
- `staff`: staff's tools: tasks and their fill, rosters, attendance and hours,
  monthly lists and commendations, the Excel export.
- `texts`: the words and buttons those screens share.

The rules are in `services/volunteers.py` and `services/volunteer_hours.py`.
"""

from __future__ import annotations

from aiogram import Router

from handlers.volunteers import home, staff, tasks

router = Router(name=__name__)
router.include_routers(home.router, tasks.router, staff.router)
