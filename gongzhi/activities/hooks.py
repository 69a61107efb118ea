"""Extension points: what happens when someone becomes present at an activity, and when volunteer hours are confirmed.

Apps above ``activities`` (learning's points) must react to attendance without ``activities``
depending on them. They register a handler here in their ``AppConfig.ready()``; ``attendance_record`` calls every
handler inside its own transaction, right after the attendance turns ``present`` — so an attendance and what it earns
are written together or not at all. Handlers must be idempotent (they may be called again for the same attendance).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Attendance, VolunteerHours

PresenceHandler = Callable[["Attendance", Any], None]
_handlers: list[PresenceHandler] = []


def register_presence_handler(handler: PresenceHandler) -> None:
    if handler not in _handlers:
        _handlers.append(handler)


def presence_handlers() -> list[PresenceHandler]:
    return list(_handlers)


# --- volunteer hours ----------------------------------------------------------------------------------------------
#
# 育: when a volunteer-hours ledger entry becomes counted — an original entry is confirmed (by someone other than the
# volunteer), or a correction (a reversing entry) of a confirmed entry is made — every handler is called inside the
# service's transaction with the entry, the net counted hours of the original entry after this change, and the actor.
# learning awards (and on a correction reverses and re-awards) the ``volunteer_hour`` points. Handlers must be
# idempotent; they are called once per entry under the lock of the original entry.

HoursHandler = Callable[["VolunteerHours", Decimal, Any], None]
_hours_handlers: list[HoursHandler] = []


def register_hours_confirmed_handler(handler: HoursHandler) -> None:
    if handler not in _hours_handlers:
        _hours_handlers.append(handler)


def hours_confirmed_handlers() -> list[HoursHandler]:
    return list(_hours_handlers)
