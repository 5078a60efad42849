"""Working-day arithmetic for the complaint clock: weekends and public holidays skipped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection


def is_working_day(day: dt.date, holidays: Collection[dt.date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: dt.datetime, days: int, holidays: Collection[dt.date]) -> dt.datetime:
    """`start` moved forward by `days` working days, same time of day: a complaint received
    on Friday 15:00 with a 10-day clock is due on the Friday two weeks later at 15:00 (or
    later when holidays fall in between)."""
    current = start
    left = days
    while left > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current.date(), holidays):
            left -= 1
    return current
