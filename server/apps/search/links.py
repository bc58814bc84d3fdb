"""Where a search result links to: the one place that knows, so a new dashboard page only needs a line here."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

# Per kind, the URL names to try in order, with whether the URL also takes the organisation's slug (dashboard pages
# live under /org/<org>/): the dashboard page when it exists, then the API's detail. Data blocks are "block" as a
# property's target and "datablock" as a result.
ROUTES: dict[str, tuple[tuple[str, bool], ...]] = {
    "org": (("org:detail", False), ("org-detail", False)),
    "project": (("project:detail", True), ("project-detail", False)),
    "device": (("device:detail", True), ("device-detail", False)),
    "block": (("datablock:detail", True), ("datablock-detail", False)),
    "datablock": (("datablock:detail", True), ("datablock-detail", False)),
    "stream": (("stream:detail", True), ("stream-detail", False)),
}


def object_url(kind: str, slug: str, org: str | None = None) -> str | None:
    """The page of the ``kind`` object named ``slug`` in the organisation ``org`` (its slug), or ``None``. Objects
    with no organisation (unclaimed devices, which only staff find) get the API's detail."""
    if kind == "org":
        slug = slug.removeprefix("^")
    for name, takes_org in ROUTES.get(kind, ()):
        if takes_org and not org:
            continue
        try:
            url = reverse(name, args=[org, slug] if takes_org else [slug])
        except NoReverseMatch:
            continue
        # The API's routes take an optional slash, which reverse() leaves out; the canonical form has it.
        return url if url.endswith("/") else f"{url}/"
    return None
