"""📚 Courses, "you order, I teach": one router for the whole feature.

What lives where:

- `menu`: the 📚 Courses screen, the course menu by category, search, teachers'
  offers and staff's review of them, the community's course rules.
- `orders`: ordering a course, backing a neighbour's order (👍 Me too), teachers
  taking an order.
- `schedule`: scheduling a session, every date and time a button (the shared pickers
  of bot/keyboards/dates.py), with a typed draft of absolute values.
- `move`: 🔁 Move, its button and its handlers, with the same pickers.
- `sessions`: taking part (enrol, waiting list, offers, reminders' answers,
  check-in, rating, .ics, 🎒 My courses) and running a session (roster, cancel).
- `texts`: the words and buttons those screens share.

The rules (who may enrol, what a full session does) are in `services/courses.py`,
`services/course_orders.py` and `services/course_sessions.py`.
"""

from __future__ import annotations

from aiogram import Router

from handlers.courses import menu, move, orders, schedule, sessions

router = Router(name=__name__)
router.include_routers(menu.router, orders.router, schedule.router, move.router,
                       sessions.router)
