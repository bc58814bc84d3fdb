"""Developer settings: the embedded defaults, debug on, and a random secret key made on the first start and kept in
LOCAL_DATA_DIR/secret_key (server/config/secret_key.py), unless DJANGO_SECRET_KEY is set."""

from server.config.secret_key import local_secret_key

from .base import *  # noqa: F403
from .base import LOCAL_DATA_DIR
from .environment import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or local_secret_key(LOCAL_DATA_DIR)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
# A developer's webhook receiver runs on this machine: loopback addresses are let through (docs/security.md).
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
