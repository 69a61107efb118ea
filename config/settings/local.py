from config import env

from .base import *  # noqa: F403

DEBUG = env.get_bool("DEBUG", True)
SECRET_KEY = env.secret_key(required=False)
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}  # noqa: F405
