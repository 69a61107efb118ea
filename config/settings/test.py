from cryptography.fernet import Fernet

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"
DATA_ENCRYPTION_KEY = Fernet.generate_key().decode()
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
SMS_SENDER = "gongzhi.people.sms.MemorySender"
# Tests run computations inline and only where a test asks for the recompute after imports (override_settings).
ANALYTICS_AUTO_COMPUTE = False
ANALYTICS_INLINE = True
