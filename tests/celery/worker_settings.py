"""Settings for the Celery worker subprocess the tests start: the test settings, with emails
written to files the test can count (the locmem backend lives in one process only)."""
import os

from tests.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("PARLEY_TEST_MAIL_DIR", "/tmp/parley-test-mail")

# Test-only hooks a test asks for by module name (e.g. tests.celery.media_pause): each registers
# its Celery signal handlers when imported here.
for _hook in filter(None, os.environ.get("PARLEY_TEST_WORKER_HOOKS", "").split(",")):
    __import__(_hook.strip())
