from config import env

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env.secret_key(required=True)
DATA_ENCRYPTION_KEY = env.data_encryption_key(required=True)
SESSION_COOKIE_SECURE = env.get_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env.get_bool("CSRF_COOKIE_SECURE", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
