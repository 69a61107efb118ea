"""Shared errors. Services raise these; views and the API turn them into one error shape."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


class DomainError(Exception):
    """A request that the domain refuses. ``fields`` maps field names to messages (translated into the active language when raised)."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


def fields_from_validation_error(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def invalid(exc: ValidationError) -> DomainError:
    """A model's ValidationError as the domain's "invalid input" error, with the field errors kept."""
    from django.utils.translation import gettext as _

    return DomainError(_("提交的信息有误，请检查标红的字段"), fields=fields_from_validation_error(exc))


def full_clean_or_invalid(obj: Any, **kwargs: Any) -> None:
    """``obj.full_clean(**kwargs)``, its ValidationError turned into the one DomainError shape (``invalid``)."""
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        raise invalid(exc) from exc
