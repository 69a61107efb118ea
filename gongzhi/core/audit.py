"""The audit log service: every staff write and every view of full personal data passes through ``audit_record``."""

from __future__ import annotations

from typing import Any

from .models import AuditEvent


def acting_user(actor: Any) -> Any:
    """The user behind an actor, or None for the system (commands, imports, the demo) and anonymous requests — what
    services store in ``created_by``/``recorded_by`` fields and the audit log."""
    return actor if getattr(actor, "is_authenticated", False) else None


def audit_record(
    *,
    actor: Any,
    action: str,
    target_type: str,
    target_id: str = "",
    place_code: str = "",
    summary: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=acting_user(actor),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        place_code=place_code,
        summary=summary[:300],
        changes=changes or {},
    )
