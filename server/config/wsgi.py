"""WSGI entry point (gunicorn server.config.wsgi)."""

import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.config.settings.local")
application = get_wsgi_application()
# Import the URL configuration, and with it every view, now rather than in each web worker's first request (about
# 0.2 s, which the first upload to each worker used to wait): gunicorn loads the application before it forks
# (preload_app), so its workers share the imported code.
import_module(settings.ROOT_URLCONF)
