"""The one place where gongzhi reads its environment.

Every setting that may differ between machines comes from here: the database, the secret key, the data-encryption key,
debug and allowed hosts. Development gets safe generated defaults kept in ``var/``; production must set them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GONGZHI_VAR_DIR", BASE_DIR / "var"))


class ImproperlyConfiguredEnv(RuntimeError):
    pass


def get(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def get_bool(name: str, default: bool = False) -> bool:
    value = get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def get_list(name: str, default: list[str]) -> list[str]:
    value = get(name)
    return [v.strip() for v in value.split(",") if v.strip()] if value else default


def _local_secret(filename: str, make: Callable[[], str]) -> str:
    """A secret generated once per checkout and kept in var/ (never committed)."""
    path = VAR_DIR / filename
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value


def secret_key(*, required: bool) -> str:
    value = get("SECRET_KEY")
    if value:
        return value
    if required:
        raise ImproperlyConfiguredEnv("SECRET_KEY must be set in production")
    return _local_secret("secret_key", lambda: secrets.token_urlsafe(50))


def data_encryption_key(*, required: bool) -> str:
    """A Fernet key (urlsafe base64 of 32 bytes) for personal data at rest (ID numbers)."""
    value = get("DATA_ENCRYPTION_KEY")
    if value:
        return value
    if required:
        raise ImproperlyConfiguredEnv("DATA_ENCRYPTION_KEY must be set in production")
    return _local_secret("data_encryption_key", lambda: Fernet.generate_key().decode())


def database_url() -> str:
    return get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'gongzhi.sqlite3'}") or ""
