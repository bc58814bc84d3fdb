"""Production settings: behind nginx (or a load balancer) over HTTPS, configured services only, secrets without
defaults. The settings refuse to load, naming every problem, when a required variable is missing or the secret key is
weak (``PRODUCTION_REQUIRED`` in ``environment.py``). ``manage.py check --deploy`` is clean under them (tested).
docs/deploy.md lists the variables."""

import os

from django.core.exceptions import ImproperlyConfigured

from .environment import env, production_environment_problems

# Before the base settings build anything (the base would start an embedded database without the database URLs).
_problems = production_environment_problems(os.environ)
if _problems:
    raise ImproperlyConfigured("The production settings refuse to start: " + "; ".join(_problems) + ".")

from server.apps.core.logs import logging_settings  # noqa: E402

from .base import *  # noqa: E402, F403
from .base import REST_FRAMEWORK, SERVER_STAGE  # noqa: E402

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

# The proxy in front terminates TLS and says so in X-Forwarded-Proto, which nginx always overwrites
# (nginx/iotile.conf); it also appends the client's address to X-Forwarded-For, hence one trusted proxy by default.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
NUM_PROXIES = env.int("DJANGO_NUM_PROXIES", default=1)
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": NUM_PROXIES}
ALLAUTH_TRUSTED_PROXY_COUNT = NUM_PROXIES

# HTTPS only: plain HTTP is redirected, cookies never travel over it, and browsers are told to remember that (HSTS,
# sent on HTTPS answers only).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django_ses.SESBackend")

# One JSON object per log line, and one line per request, each with its request and correlation ids.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
REQUEST_LOG = env.bool("DJANGO_REQUEST_LOG", default=True)
LOGGING = logging_settings(log_format=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))

# Error reporting (sentry-sdk), switched on by SENTRY_DSN.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from server.config.error_reporting import init_error_reporting

    init_error_reporting(
        dsn=SENTRY_DSN,
        environment=SERVER_STAGE,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        release=env.str("SENTRY_RELEASE", default=""),
    )
