"""The API router: routes end in ``/``, and the slash is optional so a POST without it is served, not redirected.

DRF turns any true ``trailing_slash`` argument into ``"/"``, so the optional form has to be set after construction.
The schema still shows the canonical ``.../`` paths, and :func:`api_url` gives them.
"""

from django.urls import reverse
from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"


def api_url(name: str, **kwargs) -> str:
    """The canonical path of the API's route ``name`` (``"device-key"``, ``slug=…``), ending in ``/``: ``reverse()``
    leaves out the optional slash. A name the API does not have raises ``NoReverseMatch``."""
    url = reverse(name, kwargs=kwargs or None)
    return url if url.endswith("/") else f"{url}/"
