"""The stream page, ``/org/<org>/stream/<s-->/``: a chart over a time window, the window's readings as a paged
table, and the window as a CSV download.

The page, its chart data (``series.json``), its table (``table/``, the same HTML the page embeds, for paging and
window changes without a reload) and its CSV (``data.csv``) all look the stream up among those the user may read
data of (``restrict(user, "read_data")``): out of scope, or visible without ``can_read_stream_data``, is a 404.
The time window comes from the query string (``StreamRangeForm``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import NoReverseMatch, reverse
from django.views import View
from django.views.generic import TemplateView

from server.apps.core.inputs import InputError, parse_id
from server.apps.core.slugs import SlugError
from server.apps.core.views import ScopedPageMixin
from server.apps.stream.forms import RANGE_PRESETS, StreamRangeForm, TimeWindow
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import stream_for_chart, stream_list, stream_lookup
from server.apps.streamdata.models import StreamDataStatus
from server.apps.streamdata.selectors.rows import (
    DATA_ORDERING,
    stream_data_bounds,
    stream_data_summary,
    stream_data_window,
)
from server.apps.streamdata.selectors.series import stream_data_series
from server.apps.streamdata.selectors.table import stream_data_table_page

TABLE_PAGE_SIZE = 50
CSV_COLUMNS = ("timestamp", "value", "int_value", "streamer_local_id", "status")
CSV_CHUNK = 5000
STATUS_NAMES = dict(StreamDataStatus.choices)


def stream_url(stream: StreamId, name: str = "detail", query: dict[str, Any] | None = None) -> str:
    url = reverse(f"stream:{name}", kwargs={"org_slug": stream.org.slug, "stream_slug": stream.slug})
    return f"{url}?{urlencode(query)}" if query else url


def page_url(name: str, **kwargs: str) -> str | None:
    """Another part of the dashboard's page, when that page exists."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


class StreamScopeMixin(ScopedPageMixin):
    """The stream named in the URL, among those whose data the user may read (404 otherwise)."""

    model = StreamId
    lookup_url_kwarg = "stream_slug"
    context_object_name = "stream"

    def get_queryset(self):
        streams = stream_list(user=self.request.user, action="read_data")
        if "org_slug" in self.kwargs:
            streams = streams.filter(org__slug=self.kwargs["org_slug"])
        return streams

    def object_lookup(self, value: str) -> dict[str, Any]:
        return stream_lookup(value)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.object = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    def range_form(self) -> StreamRangeForm:
        return StreamRangeForm(self.request.GET)


def table_context(request, stream: StreamId, window: TimeWindow) -> dict[str, Any]:
    """The data table of ``window``: one keyset page (``?before=``/``?after=`` a row id, or ``?oldest=1``) and its
    paging links. It does not count the window's rows (a scan of the whole window); the chart says how many."""
    cursor = {key: request.GET.get(key) for key in ("before", "after")}
    try:
        # A row id as ids are written (parse_id): "-1", "١٢" or a number past bigint names no page.
        before = parse_id(cursor["before"]) if cursor["before"] else None
        after = parse_id(cursor["after"]) if cursor["after"] and before is None else None
    except InputError as exc:
        raise Http404("Unknown page.") from exc
    oldest = request.GET.get("oldest") == "1" and before is None and after is None
    page = None
    if window.start is not None:
        page = stream_data_table_page(
            series=stream.series,
            start=window.start,
            end=window.end,
            before=before,
            after=after,
            oldest=oldest,
            size=TABLE_PAGE_SIZE,
        )
    rows = page.rows if page else []
    places = stream.display_decimal_places
    shown = []
    for row in rows:
        value = stream.output_value(row.value)
        shown.append(
            {
                "timestamp": row.timestamp,
                "value": None if value is None else f"{value:,.{places}f}",
                "int_value": row.int_value,
                "status": row.status,
                "status_name": STATUS_NAMES.get(row.status, row.status),
                "streamer_local_id": row.streamer_local_id,
            }
        )
    window_query = window.query
    at_newest = before is None and after is None and not oldest
    newer = page.newer if page else None
    older = page.older if page else None
    return {
        "rows": shown,
        "units": stream.display_units,
        "page_size": TABLE_PAGE_SIZE,
        "newest_url": None if at_newest or not rows else stream_url(stream, query=window_query),
        "newer_url": stream_url(stream, query={**window_query, "after": newer}) if newer else None,
        "older_url": stream_url(stream, query={**window_query, "before": older}) if older else None,
        "oldest_url": stream_url(stream, query={**window_query, "oldest": 1}) if older else None,
        "is_paged": not at_newest,
    }


class StreamDetailView(StreamScopeMixin, TemplateView):
    template_name = "stream/detail.html"

    def get(self, request, *args, **kwargs):
        if kwargs["stream_slug"] != self.object.slug:
            # A slug in another accepted form: send the browser to the canonical URL.
            query = f"?{request.GET.urlencode()}" if request.GET else ""
            return HttpResponseRedirect(stream_url(self.object) + query)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        stream = self.object
        org = stream.org
        summary = stream_data_summary(series=stream.series)
        form = self.range_form()
        window = form.window(lambda: (summary.first, summary.last))
        context.update(
            stream=stream,
            org=org,
            summary=summary,
            form=form,
            range_error=form.error_text() if form.is_bound and not form.is_valid() else "",
            window=window,
            presets=[(key, label) for key, (label, _) in RANGE_PRESETS.items()],
            label=stream.display_label,
            units=stream.display_units,
            org_url=page_url("org:detail", org_slug=org.slug) or page_url("main:org-detail", org_slug=org.slug),
            project_url=(
                page_url("project:detail", org_slug=org.slug, project_id=stream.project.slug)
                if stream.project_id
                else None
            ),
            device_url=(
                page_url("device:detail", org_slug=org.slug, device_slug=stream.device.slug)
                if stream.device_id
                else None
            ),
            series_url=stream_url(stream, "series"),
            table_url=stream_url(stream, "table"),
            csv_url=stream_url(stream, "csv", window.query),
            table=table_context(self.request, stream, window),
        )
        return context


class StreamTableView(StreamScopeMixin, TemplateView):
    """The page's data table alone, for the page's script to swap in when the window or the page changes."""

    template_name = "stream/includes/data_table.html"

    def get(self, request, *args, **kwargs):
        form = self.range_form()
        if not form.is_valid():
            return HttpResponseBadRequest(form.error_text())
        window = form.window(lambda: stream_data_bounds(series=self.object.series))
        context = {"stream": self.object, "window": window, "table": table_context(request, self.object, window)}
        return self.render_to_response(context)


class StreamSeriesView(StreamScopeMixin, View):
    """``series.json?start=&end=``: the chart's columns over the window, downsampled by the database when the
    window holds more readings than a chart needs. A 400 names a window it cannot read. Its thousands of numbers
    are written by orjson."""

    def get_object(self) -> StreamId:
        try:
            slug = stream_lookup(self.kwargs[self.lookup_url_kwarg])["slug"]
        except SlugError as exc:
            raise Http404 from exc
        stream = stream_for_chart(user=self.request.user, org_slug=self.kwargs["org_slug"], slug=slug)
        if stream is None:
            raise Http404
        return stream

    def get(self, request, *args, **kwargs):
        form = self.range_form()
        if not form.is_valid():
            return JsonResponse({"detail": form.error_text()}, status=400)
        stream = self.object
        window = form.window(lambda: stream_data_bounds(series=stream.series))
        series = None
        if window.start is not None:
            series = stream_data_series(stream=stream, start=window.start, end=window.end)
        entry: dict[str, Any] = {
            "label": stream.display_label,
            "unit": stream.display_units,
            "values": series.values if series else [],
        }
        if series and series.bucket_seconds:
            entry.update(min=series.lower, max=series.upper)
        return HttpResponse(
            orjson.dumps(
                {
                    "x": series.x if series else [],
                    "series": [entry],
                    "start": window.bounds_query.get("start"),
                    "end": window.bounds_query.get("end"),
                    "count": series.count if series else 0,
                    "points": len(series.x) if series else 0,
                    "bucket_seconds": series.bucket_seconds if series else None,
                    "decimals": stream.display_decimal_places,
                }
            ),
            content_type="application/json",
        )


def csv_lines(stream: StreamId, rows: Iterable[tuple]) -> Iterator[str]:
    """The CSV text of ``rows`` (``CSV_COLUMNS``, values in the stream's output unit), a chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    output_value = stream.output_value
    for count, (timestamp, value, int_value, streamer_local_id, status) in enumerate(rows, 1):
        value = output_value(value)
        stamp = timestamp.isoformat().replace("+00:00", "Z") if timestamp else ""
        writer.writerow((stamp, "" if value is None else repr(value), int_value, streamer_local_id, status))
        if count % CSV_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


class StreamCsvView(StreamScopeMixin, View):
    """``data.csv?start=&end=``: every reading of the window, oldest first, streamed from a server-side cursor so
    memory stays flat however many rows there are."""

    def get(self, request, *args, **kwargs):
        form = self.range_form()
        if not form.is_valid():
            return HttpResponseBadRequest(form.error_text())
        stream = self.object
        window = form.window(lambda: stream_data_bounds(series=stream.series))
        rows = (
            stream_data_window(series=stream.series, start=window.start, end=window.end)
            .order_by(*DATA_ORDERING)
            .values_list(*CSV_COLUMNS)
        )
        if window.start is None:
            rows = rows.none()
        response = StreamingHttpResponse(
            csv_lines(stream, rows.iterator(chunk_size=CSV_CHUNK)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{csv_filename(stream, window)}"'
        return response


def csv_filename(stream: StreamId, window: TimeWindow) -> str:
    if window.start is None:
        return f"{stream.slug}.csv"
    return f"{stream.slug}_{window.start:%Y%m%dT%H%M%SZ}_{window.end:%Y%m%dT%H%M%SZ}.csv"


class StreamShortcutView(StreamScopeMixin, View):
    """``/stream/<s-->/``: the stream page's URL from the slug alone (links that know no organisation)."""

    def get(self, request, *args, **kwargs):
        query = f"?{request.GET.urlencode()}" if request.GET else ""
        return HttpResponseRedirect(stream_url(self.object) + query)
