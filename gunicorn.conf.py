"""gunicorn's settings for the web service (docker-compose.yml; docs/deploy.md). gunicorn reads this file from the
working directory; each value can be changed through the environment without editing it."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
wsgi_app = "server.config.wsgi:application"
# Sync workers are right behind nginx, which reads whole requests and buffers answers before a worker is involved.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
# A request running longer is ended (its worker restarted); nginx's proxy_read_timeout is longer, so the client gets
# gunicorn's answer rather than nginx's.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# Recycle workers now and then, so a slow leak never grows without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
# Load the application before forking: settings that refuse to start (production without its secrets) stop gunicorn
# at once instead of leaving it restarting workers.
preload_app = True
# Django writes one line per request with its ids (REQUEST_LOG); gunicorn's own messages go to stderr as JSON.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "server.apps.core.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
    "root": {"handlers": ["console"], "level": loglevel.upper()},
}
# Only nginx talks to gunicorn (the port is not published), so the forwarded headers may come from any address.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
