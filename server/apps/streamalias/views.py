"""Stream alias pages: an organisation's aliases (name, the stream each reads now, how many taps), creating one,
and an alias's page: its taps as a history, its continuous series as a chart and a table, and adding a tap."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, Subquery
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views import View

from server.apps.core.errors import ApplicationError
from server.apps.core.slugs import SlugError
from server.apps.core.views import ScopedFormAction, ScopedPageMixin, ScopedPageMixinBase, ScopedPageView, paginate
from server.apps.org.models import Org
from server.apps.stream.forms import StreamRangeForm
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import stream_list, stream_lookup
from server.apps.streamalias.forms import StreamAliasForm, StreamAliasTapForm
from server.apps.streamalias.models import StreamAlias, StreamAliasTap
from server.apps.streamalias.selectors import (
    alias_data_bounds,
    alias_data_rows,
    alias_data_series,
    alias_list,
    alias_lookup,
    alias_tap_ranges,
)
from server.apps.streamalias.services import alias_create, alias_tap_create

ALIASES_PER_PAGE = 25
READINGS_PER_PAGE = 50


def alias_url(alias: StreamAlias, name: str = "detail") -> str:
    return reverse(f"streamalias:{name}", kwargs={"org_slug": alias.org.slug, "alias_slug": alias.slug})


class OrgAliasListView(ScopedPageView):
    """``/org/<org>/aliases/``: each alias with the stream it reads now and since when, and its number of taps
    (subqueries: a page is two queries)."""

    model = Org
    lookup_url_kwarg = "org_slug"
    context_object_name = "org"
    template_name = "streamalias/list.html"

    def get_org(self):
        return self.object

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        latest = StreamAliasTap.objects.filter(alias=OuterRef("pk")).order_by("-timestamp")
        aliases = (
            alias_list(user=self.request.user)
            .filter(org=self.object)
            .annotate(
                tap_count=Count("taps"),
                current_stream=Subquery(latest.values("stream__slug")[:1]),
                current_since=Subquery(latest.values("timestamp")[:1]),
            )
            .order_by("name", "id")
        )
        can = self.can
        context["aliases"] = (
            paginate(self.request, aliases, per_page=ALIASES_PER_PAGE) if can(StreamAlias, "view") else None
        )
        if can(StreamAlias, "add"):
            context.setdefault("alias_form", StreamAliasForm())
        return context


class AliasCreateView(ScopedFormAction, OrgAliasListView):
    form_class = StreamAliasForm
    form_name = "alias_form"
    scope_model = StreamAlias
    scope_action = "add"

    def form_valid(self, form):
        alias = alias_create(user=self.request.user, org=self.object, name=form.cleaned_data["name"])
        return self.done(f"Alias {alias.slug} created. Give it a first tap.", alias_url(alias))


class AliasPageMixin(ScopedPageMixinBase):
    """The alias named in the URL (``a--`` in any lenient form) in the URL's organisation, among those the user
    sees (``can_read_stream_ids``); 404 otherwise."""

    model = StreamAlias
    lookup_url_kwarg = "alias_slug"
    context_object_name = "alias"

    def get_queryset(self):
        return super().get_queryset().select_related("org", "created_by")

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {**alias_lookup(value), "org__slug": self.kwargs["org_slug"]}


class AliasDetailView(AliasPageMixin, ScopedPageView):
    """``/org/<org>/alias/<a-->/``: the taps (one query), then for roles that read data the series as a chart
    (``series.json``) and the latest readings, newest first, 50 to a page (count and page)."""

    template_name = "streamalias/detail.html"

    def get(self, request, *args, **kwargs):
        if kwargs["alias_slug"] != self.object.slug:
            return HttpResponseRedirect(alias_url(self.object))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ranges = alias_tap_ranges(alias=self.object)
        context["taps"] = list(reversed(ranges))
        current = ranges[-1].stream if ranges else None
        if current is not None:
            context.update(label=current.display_label, units=current.display_units)
        if ranges and self.can(StreamId, "read_data"):
            streams = {tap.stream.series: tap.stream for tap in ranges}
            rows = alias_data_rows(ranges=ranges).order_by("-timestamp", "-id")
            page = paginate(self.request, rows, param="readings", per_page=READINGS_PER_PAGE)
            for row in page:
                stream = streams[row.series]
                value = stream.output_value(row.value)
                row.shown = None if value is None else f"{value:,.{stream.display_decimal_places}f}"
                row.stream = stream
            context["readings"] = page
            context["series_url"] = alias_url(self.object, "series")
        if self.can(StreamAlias, "add"):
            context.setdefault("tap_form", StreamAliasTapForm())
        return context


class AliasTapCreateView(ScopedFormAction, AliasDetailView):
    """Adds a tap: from its time on, the alias reads the given stream (one of the organisation's)."""

    form_class = StreamAliasTapForm
    form_name = "tap_form"
    scope_action = "change"

    def form_valid(self, form):
        value = form.cleaned_data["stream"].strip()
        try:
            stream = stream_list(user=self.request.user).filter(**stream_lookup(value)).first()
        except SlugError:
            stream = None
        if stream is None:
            raise ApplicationError(f"Unknown stream {value}.", {"stream": ["No stream you can see has this slug."]})
        alias_tap_create(
            user=self.request.user, alias=self.object, stream=stream, timestamp=form.cleaned_data["timestamp"]
        )
        return self.done(f"{self.object.slug} reads {stream.slug} from then on.", alias_url(self.object))


class AliasSeriesView(AliasPageMixin, ScopedPageMixin, View):
    """``series.json?start=&end=`` (or ``?range=``, as the stream page): the alias's continuous series, each tap's
    part downsampled like a stream's chart. Needs ``can_read_stream_data`` (403); a window it cannot read is a
    400."""

    def get(self, request, *args, **kwargs):
        alias = self.get_object()
        self.require_org_permission(alias.org, StreamId, "read_data")
        form = StreamRangeForm(request.GET)
        if not form.is_valid():
            return JsonResponse({"detail": form.error_text()}, status=400)
        ranges = alias_tap_ranges(alias=alias)
        window = form.window(lambda: alias_data_bounds(ranges=ranges))
        series = None
        if window.start is not None and ranges:
            series = alias_data_series(ranges=ranges, start=window.start, end=window.end)
        current = ranges[-1].stream if ranges else None
        entry: dict[str, Any] = {
            "label": alias.name,
            "unit": current.display_units if current else "",
            "values": series.values if series else [],
        }
        if series and series.lower is not None:
            entry.update(min=series.lower, max=series.upper)
        return JsonResponse(
            {
                "x": series.x if series else [],
                "series": [entry],
                "count": series.count if series else 0,
                "points": len(series.x) if series else 0,
                "bucket_seconds": series.bucket_seconds if series else None,
            }
        )
