"""Test settings: fast hashing, in-memory e-mail, the same database layout as every other environment."""

import uuid

from .base import *  # noqa: F403
from .base import CACHES, REST_FRAMEWORK
from .environment import env

# Each run keys its cache entries apart, so runs sharing one Redis (REDIS_URL) never read or clear each other's.
CACHES["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="test-secret-key-not-for-production-use")
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Whitenoise finds each static file when it is asked for, instead of listing and reading every file's details when its
# middleware starts: the test client starts the middleware chain anew for every client a test makes, thousands of
# times in a run. The files served and their headers are the same.
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# A test runs inside a transaction on each database; an extra streamdata connection would commit outside it. Tests of
# the parallel write set this themselves (with transactional_db).
STREAMDATA_WRITE_CONNECTIONS = env.int("STREAMDATA_WRITE_CONNECTIONS", default=1)

# Reports tell the operation app their devices were seen only where a test asks (operation/tests/test_reports.py):
# the ingest suites count the worker's messages exactly.
REPORT_PRESENCE = env.bool("REPORT_PRESENCE", default=False)

# Throttles are off unless a test sets a rate (core/tests/test_throttles.py): suites that send many requests in one
# test must not meet them by accident. The login lockout stays on.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])

# The tests' webhook receivers listen on 127.0.0.1; every other address that is not public stays refused, and the
# guard's own tests clear this (core/tests/test_outbound.py).
OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
