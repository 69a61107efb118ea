"""Extension point: what happens when someone becomes present at an activity.

Apps above ``activities`` (learning's points, later volunteer hours) must react to attendance without ``activities``
depending on them. They register a handler here in their ``AppConfig.ready()``; ``attendance_record`` calls every
handler inside its own transaction, right after the attendance turns ``present`` — so an attendance and what it earns
are written together or not at all. Handlers must be idempotent (they may be called again for the same attendance).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Attendance

PresenceHandler = Callable[["Attendance", Any], None]
_handlers: list[PresenceHandler] = []


def register_presence_handler(handler: PresenceHandler) -> None:
    if handler not in _handlers:
        _handlers.append(handler)


def presence_handlers() -> list[PresenceHandler]:
    return list(_handlers)
