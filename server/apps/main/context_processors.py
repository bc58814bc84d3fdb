"""Values every dashboard page's layout needs."""

from __future__ import annotations

from django.conf import settings


def site(request) -> dict:
    return {
        "SITE_NAME": settings.SITE_NAME,
        # The account menu offers "Connected accounts" only when some social login is configured.
        "SOCIAL_LOGIN_ENABLED": bool(settings.SOCIAL_PROVIDERS),
    }
