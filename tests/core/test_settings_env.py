import importlib
import subprocess
import sys

import pytest

from config import env


def test_production_requires_secret_and_data_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATA_ENCRYPTION_KEY", raising=False)
    with pytest.raises(env.ImproperlyConfiguredEnv):
        env.secret_key(required=True)
    with pytest.raises(env.ImproperlyConfiguredEnv):
        env.data_encryption_key(required=True)


def test_development_keys_are_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(env, "VAR_DIR", tmp_path)
    monkeypatch.delenv("DATA_ENCRYPTION_KEY", raising=False)
    first = env.data_encryption_key(required=False)
    assert env.data_encryption_key(required=False) == first
    assert (tmp_path / "data_encryption_key").stat().st_mode & 0o077 == 0


def test_database_url_defaults_to_sqlite(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert env.database_url().startswith("sqlite:///")


def test_production_settings_refuse_to_start_without_keys(tmp_path):
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings.production'; django.setup()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", "GONGZHI_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        cwd=str(importlib.import_module("config").__path__[0] + "/.."),
    )
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
