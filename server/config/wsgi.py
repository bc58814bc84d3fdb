"""WSGI entry point (gunicorn server.config.wsgi)."""

import gc
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
# Everything loaded so far lives as long as the process: move it out of the garbage collector's generations. A full
# collection otherwise walks these 150,000 objects every few hundred requests, about 60 ms that the request in
# progress waits (the API's p99); with them frozen it takes under a millisecond. Before gunicorn forks, it also spares
# the workers' collections from writing into the pages they share with the master.
gc.freeze()
