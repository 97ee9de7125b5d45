"""Settings for the test suite: config.settings with test defaults for the environment.

The project machines run PostgreSQL and Redis on 127.0.0.1; the suite uses both for real."""
import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parley")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The suite's platform servers run on loopback: the operator allow-list lets the adapters reach them.
os.environ.setdefault("OUTBOUND_ALLOW_HOSTS", "127.0.0.1,localhost,::1")
os.environ.setdefault("AUDIT_HMAC_KEY", "test-only-audit-hmac-key-0123456789-abcdefghijklmnop")

from config.settings import *  # noqa: E402,F403
from config.settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_ENABLED = False
# The embedded scheduler thread is started only by the tests about it (never left running
# between tests that switch to the in-process mode).
EMBEDDED_SCHEDULER = False
