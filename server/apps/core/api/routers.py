"""The API router: routes end in ``/``, and the slash is optional so a POST without it is served, not redirected.

DRF turns any true ``trailing_slash`` argument into ``"/"``, so the optional form has to be set after construction.
The schema still shows the canonical ``.../`` paths.
"""

from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"
