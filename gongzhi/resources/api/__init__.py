"""The 联 link API: one router; the submodules add their operations to it."""

from . import needs, providers, spaces, surveys  # noqa: F401  (register the operations)
from .base import router

__all__ = ["router"]
