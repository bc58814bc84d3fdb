from django.apps import AppConfig


class DevserverConfig(AppConfig):
    """The development server (``manage.py runserver``, which ``inv run-local`` serves with): nothing but its
    command, listed before ``django.contrib.staticfiles`` so that its ``runserver`` is the one Django runs."""

    name = "server.apps.devserver"
    label = "devserver"
