from .base import router  # noqa: F401
