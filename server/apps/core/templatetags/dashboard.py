"""Template helpers shared by the dashboard's pages: includes that take markup, paging links, links to pages other
parts of the dashboard own, and how long ago something happened."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.template.base import Node, NodeList, TextNode
from django.template.loader_tags import do_include
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

register = template.Library()


class SlotNode(Node):
    child_nodelists = ("nodelist",)

    def __init__(self, name: str, nodelist: NodeList):
        self.name = name
        self.nodelist = nodelist


class EmbedNode(Node):
    child_nodelists = ("slots",)

    def __init__(self, include: Node, slots: NodeList):
        self.include = include
        self.slots = slots

    def render(self, context) -> str:
        filled = {
            slot.name: mark_safe(slot.nodelist.render(context).strip())
            for slot in self.slots
            if isinstance(slot, SlotNode)  # the only nodes embed() puts there
        }
        with context.push(filled):
            return self.include.render(context)


@register.tag
def embed(parser, token) -> EmbedNode:
    """``{% embed "includes/page_header.html" with title=org.name %}{% slot actions %}…{% endslot %}{% endembed %}``:
    an ``{% include %}`` whose template also takes markup. Each slot is rendered first, in the page's context, and
    the template gets it as a variable of the slot's name (stripped, so an empty slot is false), next to the
    ``with`` values. Only slots go between the tags; a slot left out is empty."""
    if "only" in token.split_contents()[2:]:
        raise template.TemplateSyntaxError("{% embed %} does not take 'only': its slots come from the page's context")
    include = do_include(parser, token)
    # The parser sets these on the nodes it returns; the include needs its origin for relative template names.
    include.token, include.origin = token, parser.origin
    slots = NodeList()
    while True:
        between = parser.parse(("slot", "endembed"))
        if any(not isinstance(node, TextNode) or node.s.strip() for node in between):
            raise template.TemplateSyntaxError("only {% slot name %}…{% endslot %} goes inside {% embed %}")
        tag = parser.next_token()
        if tag.contents == "endembed":
            return EmbedNode(include, slots)
        bits = tag.split_contents()
        if (
            len(bits) != 2
            or not bits[1].isidentifier()
            or bits[1] in {slot.name for slot in slots if isinstance(slot, SlotNode)}
        ):
            raise template.TemplateSyntaxError(f"{{% {tag.contents} %}}: a slot takes one name, once per embed")
        slots.append(SlotNode(bits[1], parser.parse(("endslot",))))
        parser.delete_first_token()


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
    attempts: list[tuple[str, tuple[str, ...], dict[str, str]]] = (
        [("stream:detail", (), {"org_slug": org_slug, "stream_slug": slug})] if org_slug else []
    )
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
    amount: float = size or 0
    for unit in ("B", "kB", "MB"):
        if amount < 1000 or unit == "MB":
            return f"{amount} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return ""


@register.filter
def elided_pages(page) -> list:
    """The page numbers a pager shows around ``page``, with ``…`` where it skips some."""
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
