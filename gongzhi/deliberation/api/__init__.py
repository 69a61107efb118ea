"""The deliberation API: one router; the submodules add their operations to it."""

from . import decisions, issues  # noqa: F401  (register the operations)
from .base import router

__all__ = ["router"]
