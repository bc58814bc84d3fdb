"""Settings shared by every environment. Everything is read from the environment; ``local``, ``test`` and
``production`` only override."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from server.apps.core.logs import logging_settings
from server.apps.core.middleware import content_security_policy
from server.apps.stores.config import store_settings
from server.config.databases import database_settings
from server.config.settings.environment import REPO_ROOT, env

SERVER_DIR = REPO_ROOT / "server"

# Folder for everything the embedded defaults keep on disk (database cluster, file stores). Git-ignored.
LOCAL_DATA_DIR = Path(env.str("LOCAL_DATA_DIR", default=str(REPO_ROOT / ".local")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Reported by GET /api/v1/server/ so a client can tell which deployment it talks to.
SERVER_STAGE = env.str("SERVER_STAGE", default="local")
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
SITE_ID = 1
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en-us"

DJANGO_APPS = [
    # Before django.contrib.staticfiles: its runserver closes each thread's database connections (devserver/).
    "server.apps.devserver",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.humanize",
    "django.contrib.postgres",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "corsheaders",
    "auditlog",
]
LOCAL_APPS = [
    "server.apps.core",
    "server.apps.authentication",
    "server.apps.org",
    "server.apps.project",
    "server.apps.vartype",
    "server.apps.devicetemplate",
    "server.apps.sensorgraph",
    "server.apps.device",
    "server.apps.datablock",
    "server.apps.stream",
    "server.apps.streamalias",
    "server.apps.streamdata",
    "server.apps.deviceauth",
    "server.apps.streamer",
    "server.apps.streamevent",
    "server.apps.stores",
    "server.apps.worker",
    "server.apps.property",
    "server.apps.configattribute",
    "server.apps.streamnote",
    "server.apps.streamfilter",
    "server.apps.devicelocation",
    "server.apps.fleet",
    "server.apps.ota",
    "server.apps.operation",
    "server.apps.desiredstate",
    "server.apps.deviceupload",
    "server.apps.search",
    "server.apps.staff",
    "server.apps.main",
    "server.apps.audit",
    "server.apps.health",
    "server.apps.telemetry",
    "server.apps.forwarding",
    "server.apps.report",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

AUTH_USER_MODEL = "authentication.Account"
# The audit log (docs/audit.md): django-auditlog writing our entry model, changes kept as JSON values.
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"
AUDITLOG_STORE_JSON_CHANGES = True
# Its own entry table is swapped out, but its migrations would still create it (and block test flushes).
MIGRATION_MODULES = {"auditlog": None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = database_settings(env, LOCAL_DATA_DIR)
DATABASE_ROUTERS = ["server.config.routers.DatabaseRouter"]

MIDDLEWARE = [
    "server.apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Body size limits before anything reads the body; the 413 and 429 pages (core/limits.py).
    "server.apps.core.limits.RequestLimitsMiddleware",
    "server.apps.core.middleware.BadTextMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # An /api/ path no route matches: the JSON 404, after CommonMiddleware has redirected a missing slash.
    "server.apps.core.middleware.ApiNotFoundMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who makes the changes the audit log records (docs/audit.md).
    "server.apps.audit.context.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "server.apps.core.middleware.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "server.apps.core.middleware.ServiceUnavailableMiddleware",
    # Last: frees an API answer as its request ends, instead of at the next full garbage collection.
    "server.apps.core.middleware.ReleaseAnswerMiddleware",
]

# Size limits (docs/security.md, "Limits and throttles"), enforced while the body streams. A report may have 32 MB
# (streamer/services/upload.py); a multipart body gets room for its other fields; nginx has the same body limit.
UPLOAD_MAX_FILE_BYTES = env.int("UPLOAD_MAX_FILE_BYTES", default=32 * 1024 * 1024)
UPLOAD_MAX_BODY_BYTES = env.int("UPLOAD_MAX_BODY_BYTES", default=UPLOAD_MAX_FILE_BYTES + 1024 * 1024)
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=8 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "server.apps.core.limits.FileSizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

ROOT_URLCONF = "server.config.urls"
WSGI_APPLICATION = "server.config.wsgi.application"
# URLs end in a slash, but a POST is never redirected: the API router matches both forms itself.
APPEND_SLASH = True

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SERVER_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "server.apps.main.context_processors.site",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]

# Static files: the front-end bundle from webapp/ (inv build-statics) plus app statics, served by whitenoise.
STATIC_URL = "/static/"
# collectstatic writes here; nginx serves it in the compose stack (docs/deploy.md).
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(REPO_ROOT / "staticfiles")))
WEBAPP_DIST = REPO_ROOT / "webapp" / "dist"
# Always listed, so a server started before the first build serves the bundle once it exists; the folder is
# created here only to keep the staticfiles check quiet (a read-only tree just skips that).
with contextlib.suppress(OSError):
    WEBAPP_DIST.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [WEBAPP_DIST]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = LOCAL_DATA_DIR / "media"

# Cache (docs/cache.md): local memory, or Redis through django-redis when REDIS_URL is set. The key prefix keeps
# deployments (and test runs) that share one Redis apart.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="iotile")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": CACHE_KEY_PREFIX}}
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }

# Search (docs/search.md): PostgreSQL full-text search, or Elasticsearch through django-elasticsearch-dsl when
# ELASTICSEARCH_URL is set.
ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL", default="")
SEARCH_BACKEND = "elasticsearch" if ELASTICSEARCH_URL else "postgres"
ELASTICSEARCH_INDEX_PREFIX = env.str("ELASTICSEARCH_INDEX_PREFIX", default="iotile")
ELASTICSEARCH_DSL = {"default": {"hosts": ELASTICSEARCH_URL or "http://localhost:9200"}}
ELASTICSEARCH_DSL_SIGNAL_PROCESSOR = "server.apps.search.indexing.OnCommitSignalProcessor"
if ELASTICSEARCH_URL:
    # Installed only with a cluster: it indexes every save of a searched model.
    INSTALLED_APPS += ["django_elasticsearch_dsl"]

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="IOTile Platform <noreply@localhost>")

# Accounts (django-allauth): e-mail login, mandatory verification.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
# Failed logins are counted by the platform's own lockout, shared with the API (authentication/lockout.py).
ACCOUNT_RATE_LIMITS = {"login_failed": None}
# Fills in the username and the account's unique slug for every way an account is made (signup, social login).
ACCOUNT_ADAPTER = "server.apps.main.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "server.apps.main.adapters.SocialAccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = env.str("ACCOUNT_EMAIL_SUBJECT_PREFIX", default="[IOTile Platform] ")
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"
SITE_NAME = env.str("SITE_NAME", default="IOTile Platform")
# A tile server for the device page's track map ("https://tiles.example/{z}/{x}/{y}.png"); empty draws the track on
# its own grid and asks no other host for anything.
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
# Sent on every page (core/middleware.py); the API's documentation pages may also run inline scripts.
CONTENT_SECURITY_POLICY = content_security_policy(map_tile_url=MAP_TILE_URL)

# Social login, switched on by configuration: SOCIAL_PROVIDERS=github,google installs those allauth providers,
# and each one's credentials come from SOCIAL_<NAME>_CLIENT_ID and SOCIAL_<NAME>_SECRET (no defaults).
SOCIAL_PROVIDERS = env.list("SOCIAL_PROVIDERS", default=[])
INSTALLED_APPS += [f"allauth.socialaccount.providers.{name}" for name in SOCIAL_PROVIDERS]
SOCIALACCOUNT_PROVIDERS = {
    name: {
        "APP": {
            "client_id": env.str(f"SOCIAL_{name.upper()}_CLIENT_ID"),
            "secret": env.str(f"SOCIAL_{name.upper()}_SECRET"),
            "key": "",
        }
    }
    for name in SOCIAL_PROVIDERS
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "server.apps.authentication.authentication.JSONWebTokenAuthentication",
        # Authorization: a-jwt <token> (docs/permissions.md, device tokens).
        "server.apps.deviceauth.tokens.DeviceTokenAuthentication",
        "server.apps.authentication.authentication.PrefixedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "server.apps.core.api.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "server.apps.core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "server.apps.core.api.exceptions.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Throttles (docs/limits.md): fixed windows counted in the cache (Redis when REDIS_URL is set); a 429 with
    # Retry-After past a budget. "anon" is per client address, "user" per account, "device" per device token,
    # "org" per organisation, "login" per address on the login endpoints (the account lockout is separate).
    "DEFAULT_THROTTLE_CLASSES": [
        "server.apps.core.api.throttles.AnonymousThrottle",
        "server.apps.core.api.throttles.AccountThrottle",
        "server.apps.core.api.throttles.DeviceThrottle",
        "server.apps.core.api.throttles.OrgThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_RATE_ANON", default="600/m"),
        "user": env.str("THROTTLE_RATE_USER", default="6000/m"),
        "device": env.str("THROTTLE_RATE_DEVICE", default="1200/m"),
        "org": env.str("THROTTLE_RATE_ORG", default="30000/m"),
        "login": env.str("THROTTLE_RATE_LOGIN", default="60/m"),
    },
}
# Failed logins (docs/limits.md): LOGIN_FAILURE_LIMIT failures for one account within LOGIN_FAILURE_WINDOW seconds
# lock its logins for LOGIN_LOCKOUT_SECONDS, the right password included; the API and the dashboard share the count.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_WINDOW = env.int("LOGIN_FAILURE_WINDOW", default=15 * 60)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
# Hostile input (docs/security.md): every API view parses bodies strictly (depth, NUL, surrogates, UTF-8).
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "server.apps.core.api.parsers.JSONParser",
    "server.apps.core.api.parsers.FormParser",
    "server.apps.core.api.parsers.MultiPartParser",
]
SPECTACULAR_SETTINGS = {
    "TITLE": "IOTile Platform API",
    "DESCRIPTION": "Organisations, projects, devices and the data streams they produce.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The interactive docs' scripts come from drf-spectacular-sidecar through our static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validator badge: it would send the schema's address to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Every operation may answer 429 and every one with a body 413 (docs/limits.md).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "server.apps.core.api.schema_limits.add_limit_responses",
    ],
    # Several models have a `status` or `type` choice field; name each enum after its own choices.
    "ENUM_NAME_OVERRIDES": {
        "ReadingStatusEnum": "server.apps.streamdata.models.StreamDataStatus",
        "ReadingTypeEnum": "server.apps.streamdata.models.StreamDataType",
        "ArchiveStatusEnum": "server.apps.datablock.models.ArchiveStatus",
        "ReportStatusEnum": "server.apps.streamer.models.ReportStatus",
        "WorkerRunStatusEnum": "server.apps.worker.models.WorkerRunStatus",
        "DeviceKeyTypeEnum": "server.apps.deviceauth.models.DeviceKeyType",
        "PropertyTypeEnum": "server.apps.property.models.PropertyType",
        "NoteTypeEnum": "server.apps.streamnote.models.NoteType",
        "VarTypeDataTypeEnum": "server.apps.vartype.models.StreamDataType",
    },
}

# JSON Web Tokens as the IOTile clients expect them: `Authorization: jwt <token>`, refreshed by posting the token
# itself to auth/api-jwt-refresh/ until REFRESH_LIMIT after the original login.
JWT_AUTH = {
    "EXPIRATION": timedelta(seconds=env.int("JWT_EXPIRATION_SECONDS", default=7 * 24 * 3600)),
    "REFRESH_LIMIT": timedelta(days=env.int("JWT_REFRESH_LIMIT_DAYS", default=180)),
    "ALGORITHM": "HS256",
}

# File stores (docs/stores.md): folders under LOCAL_DATA_DIR/stores/ unless STORE_CONFIGURATION puts them on S3.
STORES = store_settings(env, LOCAL_DATA_DIR)

# Refused report uploads kept for diagnosis under the reports store's errors/ (docs/ingest.md): at most this much
# per organisation (or per account, for a device nobody may see) and in all, each kept this many days.
REJECTED_REPORT_QUOTA_BYTES = env.int("REJECTED_REPORT_QUOTA_BYTES", default=64 * 1024 * 1024)
REJECTED_REPORT_STORE_QUOTA_BYTES = env.int("REJECTED_REPORT_STORE_QUOTA_BYTES", default=1024 * 1024 * 1024)
REJECTED_REPORT_RETENTION_DAYS = env.int("REJECTED_REPORT_RETENTION_DAYS", default=14)

# Queue worker (docs/worker.md): a PostgreSQL table by default, SQS with WORKER_QUEUE=sqs.
WORKER_QUEUE = env.str("WORKER_QUEUE", default="postgres")
WORKER_SQS_QUEUE_NAME = env.str("WORKER_SQS_QUEUE_NAME", default="iotile-worker")
WORKER_SQS_ENDPOINT_URL = env.str("WORKER_SQS_ENDPOINT_URL", default="")
WORKER_SQS_REGION = env.str("WORKER_SQS_REGION", default=env.str("AWS_DEFAULT_REGION", default="us-east-1"))
WORKER_SQS_CREATE_QUEUE = env.bool("WORKER_SQS_CREATE_QUEUE", default=False)
# A received message is leased to its worker this long; the worker renews the lease every third of it while the
# work runs, so a worker that dies gives its messages back within this time (docs/worker.md, "Leases").
WORKER_LEASE_SECONDS = env.int("WORKER_LEASE_SECONDS", default=30)
WORKER_WAIT_SECONDS = env.int("WORKER_WAIT_SECONDS", default=10)
# Messages a worker takes per receive; a batched action (ProcessReport) handles them together, overlapping its
# reports' database writes with its own work. SQS allows at most 10.
WORKER_BATCH_SIZE = env.int("WORKER_BATCH_SIZE", default=10)
# Connections a worker writes a large report's readings on, side by side (docs/ingest.md).
STREAMDATA_WRITE_CONNECTIONS = env.int("STREAMDATA_WRITE_CONNECTIONS", default=2)
# The PostgreSQL queue wakes idle workers with LISTEN/NOTIFY (and when a delayed message comes due); this polling
# is only the fallback, should a notification be lost with a broken connection.
WORKER_POLL_INTERVAL = env.float("WORKER_POLL_INTERVAL", default=5.0)
WORKER_SCHEDULER_TICK_SECONDS = env.int("WORKER_SCHEDULER_TICK_SECONDS", default=30)
WORKER_RUN_RETENTION_DAYS = env.int("WORKER_RUN_RETENTION_DAYS", default=30)
# Networks (CIDR) that webhooks users give may reach although they are not public: none in production
# (server/apps/core/outbound.py, docs/security.md).
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])
# Delivered forwarding outbox rows are kept this long (docs/forwarding.md); pending and dead ones until sent.
FORWARDING_DELIVERED_RETENTION_DAYS = env.int("FORWARDING_DELIVERED_RETENTION_DAYS", default=7)

# Device operations (docs/operations.md): the MQTT broker the bridge and the worker use, as the platform's own login
# (mqtt://user:password@host:port); empty leaves MQTT out.
MQTT_URL = env.str("MQTT_URL", default="")
# A login with the broker's dynamic-security admin role, which provisions each device's own login and topic rules.
MQTT_ADMIN_URL = env.str("MQTT_ADMIN_URL", default="")
# Where devices connect (host:port), as the credentials endpoint tells them; the platform's broker by default.
MQTT_DEVICE_BROKER = env.str("MQTT_DEVICE_BROKER", default="")
# Where devices reach this site: the start of the signed upload links of folder stores (docs/updates.md).
UPLOAD_BASE_URL = env.str("UPLOAD_BASE_URL", default="http://127.0.0.1:8000")
# A request's payload, and a message read from a device (MQTT or a status file), at most this many bytes.
OPERATION_PAYLOAD_MAX_BYTES = env.int("OPERATION_PAYLOAD_MAX_BYTES", default=64 * 1024)
OPERATION_MESSAGE_MAX_BYTES = env.int("OPERATION_MESSAGE_MAX_BYTES", default=256 * 1024)
# Telemetry (docs/telemetry.md): a message timed further ahead than this is refused (IoTa drops them past an hour).
TELEMETRY_FUTURE_SECONDS = env.int("TELEMETRY_FUTURE_SECONDS", default=3600)
# A raw message older than TELEMETRY_MEND_GRACE_SECONDS whose values a crash left missing gets them from a job run
# every TELEMETRY_MEND_CHECK_SECONDS; younger ones may still be being written by their own ingest.
TELEMETRY_MEND_GRACE_SECONDS = env.int("TELEMETRY_MEND_GRACE_SECONDS", default=60)
TELEMETRY_MEND_CHECK_SECONDS = env.int("TELEMETRY_MEND_CHECK_SECONDS", default=120)
# Configuration on connect: a device heard from after this much silence counts as coming online.
CONFIG_ON_CONNECT_GAP_SECONDS = env.int("CONFIG_ON_CONNECT_GAP_SECONDS", default=3600)
CONFIG_ON_CONNECT_DEADLINE_SECONDS = env.int("CONFIG_ON_CONNECT_DEADLINE_SECONDS", default=300)
CONFIG_ON_CONNECT_HEARTBEAT_SECONDS = env.int("CONFIG_ON_CONNECT_HEARTBEAT_SECONDS", default=60)
# An external profile service called for each device coming online (empty: none); retried as the AWS sample does.
CONFIG_PROFILE_URL = env.str("CONFIG_PROFILE_URL", default="")
CONFIG_PROFILE_RETRIES = env.int("CONFIG_PROFILE_RETRIES", default=2)
CONFIG_PROFILE_RETRY_SECONDS = env.float("CONFIG_PROFILE_RETRY_SECONDS", default=2.0)
CONFIG_PROFILE_TIMEOUT_SECONDS = env.float("CONFIG_PROFILE_TIMEOUT_SECONDS", default=5.0)
# A report still scheduled this long (since its upload or its last requeue) with nothing queued for it lost its
# message (SQS: a crash between the upload's commit and the send); a sweep every REPORT_REQUEUE_CHECK_SECONDS queues
# it again (docs/ingest.md). Never less than a live message can stay delayed or in flight.
REPORT_REQUEUE_AFTER_SECONDS = env.int("REPORT_REQUEUE_AFTER_SECONDS", default=3600)
REPORT_REQUEUE_CHECK_SECONDS = env.int("REPORT_REQUEUE_CHECK_SECONDS", default=300)
# A processed streamer report counts as hearing from its device: presence, and configuration for a first report
# after CONFIG_ON_CONNECT_GAP_SECONDS.
REPORT_PRESENCE = env.bool("REPORT_PRESENCE", default=True)
# How often the worker closes overdue operations and reads new status files.
OPERATION_SWEEP_SECONDS = env.int("OPERATION_SWEEP_SECONDS", default=30)

# Behind proxies (docs/deploy.md): how many trusted proxies (nginx, a load balancer) append the address they saw to
# X-Forwarded-For. The client's address is the one the outermost of them wrote, for the request log, DRF's
# throttles and allauth's rate limits alike; 0 takes the socket's peer and ignores the header.
NUM_PROXIES = env.int("DJANGO_NUM_PROXIES", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES
ALLAUTH_TRUSTED_PROXY_COUNT = NUM_PROXIES

# Cross-origin API calls (django-cors-headers): only under /api/, only from the listed origins, and without cookies,
# so a page on another origin can call the API with a token but never with a user's session.
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOWED_ORIGINS = env.list("DJANGO_CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "x-request-id", "x-correlation-id")
CORS_EXPOSE_HEADERS = ("x-request-id", "x-correlation-id", "retry-after")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Logs (docs/deploy.md#logs): every line carries the request and correlation ids (core/logs.py). LOG_FORMAT=json
# writes one JSON object per line (the default in production); REQUEST_LOG adds one line per request.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
REQUEST_LOG = env.bool("DJANGO_REQUEST_LOG", default=False)
LOGGING = logging_settings(log_format=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))
