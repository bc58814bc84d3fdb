"""Where a search result links to: the one place that knows, so new dashboard pages only need a line here."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

# Per kind, the URL names to try in order, each taking the object's slug: the dashboard page when it exists, then
# the API's detail. Data blocks are "block" as a property's target and "datablock" as a result.
ROUTES: dict[str, tuple[str, ...]] = {
    "org": ("org:detail", "main:org-detail", "org-detail"),
    "project": ("project:detail", "project-detail"),
    "device": ("device:detail", "device-detail"),
    "block": ("datablock:detail", "datablock-detail"),
    "datablock": ("datablock:detail", "datablock-detail"),
    "stream": ("stream:detail", "stream-detail"),
}


def object_url(kind: str, slug: str) -> str | None:
    """The page of the ``kind`` object named ``slug`` (``^org`` targets lose their caret), or ``None``."""
    if kind == "org":
        slug = slug.removeprefix("^")
    for name in ROUTES.get(kind, ()):
        try:
            url = reverse(name, args=[slug])
        except NoReverseMatch:
            continue
        # The API's routes take an optional slash, which reverse() leaves out; the canonical form has it.
        return url if url.endswith("/") else f"{url}/"
    return None
