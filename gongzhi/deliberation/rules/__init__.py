"""Permissions of the deliberation app (django-rules): the submodules register them."""

from . import decisions, issues  # noqa: F401
