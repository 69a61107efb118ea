from __future__ import annotations

from .base import router  # noqa: F401
