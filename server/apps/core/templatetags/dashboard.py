"""Template helpers shared by the dashboard's pages: paging links, links to pages other parts of the dashboard
own, and how long ago something happened."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context, param: str, value) -> str:
    """The current query string with ``param`` set to ``value`` (``?q=x&page=3``), for paging links."""
    query = context["request"].GET.copy()
    query[param] = value
    return f"?{query.urlencode()}"


@register.filter
def stream_url(slug: str, org_slug: str = "") -> str:
    """The stream's page (``stream:detail``; ``{{ stream.slug|stream_url:org.slug }}`` saves a redirect), or its
    API detail where the dashboard has no stream page."""
    attempts = [("stream:detail", (), {"org_slug": org_slug, "stream_slug": slug})] if org_slug else []
    attempts += [("stream:detail", (slug,), {}), ("stream-detail", (slug,), {})]
    for name, args, kwargs in attempts:
        try:
            url = reverse(name, args=args, kwargs=kwargs)
        except NoReverseMatch:
            continue
        # The API's routes take an optional slash, which reverse() leaves out.
        return url if url.endswith("/") else f"{url}/"
    return ""


@register.filter
def since(moment: datetime | None) -> timedelta | None:
    """How long ago ``moment`` was (None stays None)."""
    return timezone.now() - moment if moment else None


@register.filter
def short_duration(delta: timedelta | None) -> str:
    """A duration the way people say it: ``45 s``, ``12 min``, ``3 h``, ``5 days``."""
    if delta is None:
        return ""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


@register.filter
def filesize(size: int | None) -> str:
    """Bytes in the unit that reads best (``812 B``, ``14.2 kB``, ``3.1 MB``)."""
    size = size or 0
    for unit in ("B", "kB", "MB"):
        if size < 1000 or unit == "MB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


@register.filter
def elided_pages(page) -> list:
    """The page numbers a pager shows around ``page``, with ``…`` where it skips some."""
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
