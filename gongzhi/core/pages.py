"""What every app's page views share: the staff user's current place, and service errors shown on a form."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .errors import DomainError


def staff_place(request: Any) -> Any:
    """The place a staff user works on (set by gongzhi.web.middleware); a user without one gets a 403."""
    place = getattr(request, "place", None)
    if not place:
        raise PermissionDenied(_("您没有可以工作的区划"))
    return place


def apply_errors(form: Any, exc: DomainError) -> None:
    """Show a service's DomainError on a form: each message next to its field, the rest above the form."""
    for field, msgs in exc.fields.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)
    if not exc.fields:
        form.add_error(None, exc.message)
