"""Settings for the test suite: config.settings with test defaults for the environment.

The project machines run PostgreSQL and Redis on 127.0.0.1; the suite uses both for real."""
import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parley")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("SECRET_KEY", "test-only-M_yk0W4BQi9kQQBitLfMdIMVDl1hxb7rRx_HRHP_8-uoB48dptvGIgLyYsFp")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The suite's platform servers run on loopback: the operator allow-list lets the adapters reach them.
os.environ.setdefault("OUTBOUND_ALLOW_HOSTS", "127.0.0.1,localhost,::1")
# Both keys random-looking: production processes the suite starts (gunicorn) inherit them, and
# refuse guessable keys (config/keys.py).
os.environ.setdefault("AUDIT_HMAC_KEY", "test-only-N9oUIx6fHYEnZ5pm9WLrxE-s8maDT1GBWWWsustz3dFIh2HtkweywxEHLadC")

from config.settings import *  # noqa: E402,F403
from config.settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_ENABLED = False
# The embedded scheduler thread is started only by the tests about it (never left running
# between tests that switch to the in-process mode).
EMBEDDED_SCHEDULER = False
# Uploaded media (issue 22) go to a folder of this run's, never into the checkout's var/media
# (the schema fuzzer uploads real images); the media tests give each test its own. A process
# told its MEDIA_ROOT (a worker a test starts beside it) keeps it.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

if not os.environ.get("MEDIA_ROOT"):
    MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="parley-test-media-"))
    atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
