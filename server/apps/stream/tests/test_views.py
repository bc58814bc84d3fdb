"""The stream page: scoping, the header, the chart's series (raw and downsampled, in output units), the table's
keyset pages, the CSV download, the time window, and pinned query counts, up to a stream of a million readings."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import assert_query_count, make_member, make_org, make_user
from server.apps.device.tests.factories import T0, add_data, make_device, make_project, make_stream
from server.apps.org.models import OrgMembership
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.stream.forms import StreamRangeForm, TimeWindow
from server.apps.stream.tests.factories import add_generated_readings
from server.apps.stream.views import TABLE_PAGE_SIZE
from server.apps.streamdata.selectors.series import SERIES_MAX_POINTS, series_bucket_seconds, stream_data_series
from server.apps.streamdata.selectors.table import stream_data_table_page
from server.apps.vartype.models import VarType, VarTypeOutputUnit


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def stream_url(stream, name: str = "detail", slug: str | None = None, org=None) -> str:
    org = org or stream.org
    return reverse(f"stream:{name}", kwargs={"org_slug": org.slug, "stream_slug": slug or stream.slug})


@pytest.fixture
def stream(db):
    device = make_device(make_project(name="North basin"), label="Pump 7")
    return make_stream(device, lid=0x5001, data_label="Level")


@pytest.fixture
def owner(stream):
    return stream.org.created_by


def fahrenheit(stream):
    """Gives ``stream`` an output unit: stored °C shown as °F (x · 9/5 + 32)."""
    var_type = VarType.objects.create(name="Temperature", slug="temperature", storage_units_short="°C")
    unit = VarTypeOutputUnit.objects.create(
        var_type=var_type, unit_full="Fahrenheit", unit_short="°F", slug="out--temperature--fahrenheit", m=9, d=5, o=32
    )
    stream.var_type, stream.output_unit = var_type, unit
    stream.save(update_fields=["var_type", "output_unit"])
    return stream


# Scoping ----------------------------------------------------------------------------------------------------------

ENDPOINTS = ("detail", "series", "table", "csv")


@pytest.mark.parametrize("name", ENDPOINTS)
def test_anonymous_is_sent_to_log_in(stream, name):
    response = Client().get(stream_url(stream, name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", ENDPOINTS)
def test_another_organisation_gets_404(stream, name):
    outsider = make_org().created_by
    assert logged_in(outsider).get(stream_url(stream, name)).status_code == 404


@pytest.mark.parametrize("name", ENDPOINTS)
def test_a_role_without_read_data_gets_404(stream, name):
    # Operators see stream ids but not their data: to them the page does not exist.
    operator = make_member(stream.org, role=OPERATOR)
    assert logged_in(operator).get(stream_url(stream, name)).status_code == 404


def test_a_member_whose_read_data_permission_was_taken_away_gets_404(stream):
    member = make_member(stream.org, role=MEMBER)
    membership = OrgMembership.objects.get(user=member, org=stream.org)
    membership.permissions["can_read_stream_data"] = False
    membership.save()
    assert logged_in(member).get(stream_url(stream)).status_code == 404


@pytest.mark.parametrize("name", ENDPOINTS)
def test_members_and_staff_read_the_page(stream, name):
    member = make_member(stream.org, role=MEMBER)
    assert logged_in(member).get(stream_url(stream, name)).status_code == 200
    assert logged_in(make_user(is_staff=True)).get(stream_url(stream, name)).status_code == 200


def test_the_url_must_name_the_streams_own_organisation(stream, owner):
    other = make_org(owner=owner)
    assert logged_in(owner).get(stream_url(stream, org=other)).status_code == 404


def test_unknown_or_malformed_slugs_are_404(stream, owner):
    client = logged_in(owner)
    assert client.get(stream_url(stream, slug="s--0000-0001--0000-0000-0000-0fff--5001")).status_code == 404
    assert client.get(stream_url(stream, slug="s--nonsense")).status_code == 404


def test_a_lenient_slug_redirects_to_the_canonical_page(stream, owner):
    # The short form of the same slug: groups without their leading zeros.
    parts = stream.slug.split("--")
    lenient = f"s--{int(parts[1].replace('-', ''), 16):x}--{int(parts[2].replace('-', ''), 16):x}--{parts[3]}"
    assert lenient != stream.slug
    response = logged_in(owner).get(stream_url(stream, slug=lenient) + "?range=24h")
    assert response.status_code == 302
    assert response["Location"] == stream_url(stream) + "?range=24h"


def test_the_slug_alone_names_the_page_too(stream, owner):
    # Other pages link with reverse("stream:detail", args=[slug]); that URL leads to the page in its organisation.
    short = reverse("stream:detail", args=[stream.slug])
    response = logged_in(owner).get(short)
    assert response.status_code == 302
    assert response["Location"] == stream_url(stream)
    assert logged_in(make_org().created_by).get(short).status_code == 404


# The page ---------------------------------------------------------------------------------------------------------


def test_page_shows_the_stream_its_device_and_its_readings(stream, owner):
    fahrenheit(stream)
    add_data(stream, 3)  # 0, 1, 2 °C one minute apart from T0

    response = logged_in(owner).get(stream_url(stream))

    assert response.status_code == 200
    body = response.content.decode()
    for text in ("Level", stream.slug, "°F", "North basin", stream.device.slug, "2026-01-01 00:00", "2026-01-01 00:02"):
        assert text in body
    assert response.context["summary"].count == 3
    # Newest first, in the output unit with its decimal places.
    assert [row["value"] for row in response.context["table"]["rows"]] == ["35.60", "33.80", "32.00"]
    assert [row["int_value"] for row in response.context["table"]["rows"]] == [2, 1, 0]
    assert 'data-series-url="' + stream_url(stream, "series") + '"' in body
    assert stream_url(stream, "csv") in body


def test_page_of_a_stream_without_readings(stream, owner):
    response = logged_in(owner).get(stream_url(stream))
    assert response.status_code == 200
    assert response.context["window"].start is None
    assert "No readings in this range" in response.content.decode()


def test_page_explains_a_window_it_cannot_read(stream, owner):
    add_data(stream, 3)
    response = logged_in(owner).get(stream_url(stream) + "?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z")
    assert response.status_code == 200
    assert "The start must come before the end." in response.content.decode()
    assert response.context["window"].preset == "all"


@pytest.mark.parametrize("query", ["", "?range=24h", "?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z"])
def test_page_query_counts_are_pinned(stream, owner, query):
    add_data(stream, 200)
    client = logged_in(owner)
    # default: session, user, the stream with its organisation, project, device, variable and units
    # streamdata: the stream's count and first and last times, then one page of the table
    with assert_query_count(3), assert_query_count(2, using="streamdata"):
        response = client.get(stream_url(stream) + query)
    assert response.status_code == 200
    assert len(response.context["table"]["rows"]) == TABLE_PAGE_SIZE


# The time window --------------------------------------------------------------------------------------------------

LAST = datetime(2026, 3, 1, 12, 0, 30, 500_000, tzinfo=UTC)
FIRST = datetime(2026, 1, 1, tzinfo=UTC)


def window(query: dict):
    form = StreamRangeForm(query)
    assert form.is_valid(), form.errors
    return form.window(lambda: (FIRST, LAST))


def test_presets_count_back_from_the_last_reading():
    after_last = datetime(2026, 3, 1, 12, 0, 31, tzinfo=UTC)
    assert window({"range": "24h"}) == TimeWindow(after_last - timedelta(days=1), after_last, "24h")
    assert window({"range": "1h"}).start == after_last - timedelta(hours=1)
    assert window({"range": "30d"}).start == after_last - timedelta(days=30)
    everything = window({})
    assert (everything.start, everything.end, everything.preset) == (FIRST, after_last, "all")
    assert window({"range": "all"}).query == {}
    assert window({"range": "7d"}).query == {"range": "7d"}


def test_a_custom_window_wins_and_an_open_side_is_the_streams_own():
    custom = window({"start": "2026-02-01T00:00:00Z", "end": "2026-02-02T00:00:00Z", "range": "24h"})
    assert (custom.start, custom.end, custom.preset) == (
        datetime(2026, 2, 1, tzinfo=UTC),
        datetime(2026, 2, 2, tzinfo=UTC),
        None,
    )
    assert custom.query == {"start": "2026-02-01T00:00:00Z", "end": "2026-02-02T00:00:00Z"}
    # datetime-local inputs send no zone: the dashboard's times are UTC.
    assert window({"start": "2026-02-01T10:30"}).start == datetime(2026, 2, 1, 10, 30, tzinfo=UTC)
    assert window({"start": "2026-02-01T10:30"}).end == datetime(2026, 3, 1, 12, 0, 31, tzinfo=UTC)
    assert window({"end": "2026-02-01T00:00:00Z"}).start == FIRST


@pytest.mark.parametrize(
    "query",
    [
        {"start": "yesterday"},
        {"range": "2y"},
        {"start": "2026-02-02T00:00:00Z", "end": "2026-02-01T00:00:00Z"},
        {"start": "2026-02-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"},
    ],
)
def test_bad_windows_are_400_for_the_data_endpoints(stream, owner, query):
    client = logged_in(owner)
    for name in ("series", "table", "csv"):
        response = client.get(stream_url(stream, name), query)
        assert response.status_code == 400, name
    assert "detail" in client.get(stream_url(stream, "series"), query).json()


def test_readings_at_the_ends_of_the_years_a_datetime_holds_are_shown(stream, owner):
    # The API stores a reading at 0001-01-01 or in the last second of 9999; the page's window had ended one second
    # after the last reading, past what a datetime holds: a 500 on every view of the stream.
    last = datetime(9999, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)
    for moment in (datetime(1, 1, 1, tzinfo=UTC), T0, last):
        add_data(stream, 1, start=moment, first_id=0)
    client = logged_in(owner)
    for query in ({}, {"start": "0001-01-01T00:00:00Z"}, {"end": "9999-12-31T23:59:59Z"}, {"range": "24h"}):
        for name in ENDPOINTS:
            assert client.get(stream_url(stream, name), query).status_code == 200, (name, query)
    whole = client.get(stream_url(stream, "series")).json()
    assert (whole["count"], whole["start"], whole["end"]) == (3, "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z")
    assert whole["x"] == [datetime(1, 1, 1, tzinfo=UTC).timestamp(), T0.timestamp(), last.timestamp()]
    assert client.get(stream_url(stream, "series"), {"range": "24h"}).json()["x"] == [last.timestamp()]


# The chart's series -----------------------------------------------------------------------------------------------


def test_series_sends_raw_readings_in_the_output_unit(stream, owner):
    fahrenheit(stream)
    add_data(stream, 5)  # 0..4 °C

    response = logged_in(owner).get(stream_url(stream, "series"))

    body = response.json()
    assert body["x"] == [(T0 + timedelta(minutes=i)).timestamp() for i in range(5)]
    assert body["series"] == [{"label": "Level", "unit": "°F", "values": [32.0, 33.8, 35.6, 37.4, 39.2]}]
    assert (body["count"], body["points"], body["bucket_seconds"]) == (5, 5, None)
    assert body["start"] == "2026-01-01T00:00:00Z"
    assert body["end"] == "2026-01-01T00:04:01Z"


def test_series_honours_the_window(stream, owner):
    add_data(stream, 10)
    response = logged_in(owner).get(
        stream_url(stream, "series"), {"start": "2026-01-01T00:02:00Z", "end": "2026-01-01T00:05:00Z"}
    )
    assert response.json()["series"][0]["values"] == [2.0, 3.0, 4.0]


def test_series_of_an_empty_window(stream, owner):
    add_data(stream, 3)
    response = logged_in(owner).get(
        stream_url(stream, "series"), {"start": "2025-01-01T00:00:00Z", "end": "2025-01-02"}
    )
    assert response.json()["x"] == []
    assert response.json()["count"] == 0
    assert logged_in(owner).get(stream_url(make_stream(stream.device, lid=0x5002), "series")).json()["x"] == []


def test_buckets_keep_each_stretchs_minimum_maximum_and_mean(stream):
    add_data(stream, 120)  # 0..119, one a minute: two hours
    series = stream_data_series(stream=stream, start=T0, end=T0 + timedelta(hours=2), max_points=10)

    # 2 h in at most 10 buckets: 15 minutes each (the bucket widths are round numbers).
    assert series.bucket_seconds == 900
    assert len(series.x) == 8
    assert series.count == 120
    assert series.lower[:2] == [0.0, 15.0]
    assert series.upper[:2] == [14.0, 29.0]
    assert series.values[:2] == [7.0, 22.0]
    assert series.x[0] == T0.timestamp() + 450


def test_buckets_are_clipped_to_the_window_and_skip_empty_stretches(stream):
    add_data(stream, 30)  # 00:00 … 00:29
    add_data(stream, 30, start=T0 + timedelta(hours=5), first_id=100)  # 05:00 … 05:29
    start = T0 + timedelta(minutes=10)
    series = stream_data_series(stream=stream, start=start, end=T0 + timedelta(hours=6), max_points=20)

    assert series.bucket_seconds == 1800
    assert series.count == 50
    # The first bucket starts at the window (00:10), not at the bucket's own start (00:00).
    assert series.x[0] == (start.timestamp() + (T0 + timedelta(minutes=30)).timestamp()) / 2
    assert len(series.x) == 2


def test_a_unit_with_a_negative_factor_swaps_minimum_and_maximum(stream):
    var_type = VarType.objects.create(name="Depth", slug="depth")
    unit = VarTypeOutputUnit.objects.create(var_type=var_type, unit_full="Below", slug="out--depth--below", m=-1, d=1)
    stream.var_type, stream.output_unit = var_type, unit
    stream.save(update_fields=["var_type", "output_unit"])
    add_data(stream, 20)
    series = stream_data_series(stream=stream, start=T0, end=T0 + timedelta(minutes=20), max_points=5)
    assert all(low <= high for low, high in zip(series.lower, series.upper, strict=True))
    assert series.lower[0] == -4.0
    assert series.upper[0] == 0.0


def test_a_wide_window_with_few_readings_sends_them_as_they_are(stream):
    # Four days: the roll-ups are read first, and their exact count decides, as a count of the readings would.
    add_data(stream, 10)
    add_data(stream, 10, start=T0 + timedelta(days=3), first_id=100)
    end = T0 + timedelta(days=4)
    series = stream_data_series(stream=stream, start=T0, end=end, max_points=20)
    assert (series.bucket_seconds, series.count, len(series.x)) == (None, 20, 20)
    assert series.x[10] == (T0 + timedelta(days=3)).timestamp()
    series = stream_data_series(stream=stream, start=T0, end=end, max_points=19)
    assert (series.bucket_seconds, series.count, len(series.x)) == (21600, 20, 2)
    assert (series.lower, series.upper, series.values) == ([0.0, 0.0], [9.0, 9.0], [4.5, 4.5])


def test_bucket_widths_are_round_and_bound_the_point_count():
    assert series_bucket_seconds(3600, 1500) == 5
    assert series_bucket_seconds(86400 * 365, 1500) == 6 * 3600
    assert series_bucket_seconds(86400 * 365 * 10, 1500) == 7 * 86400
    for span in (10, 3600, 86400 * 7, 86400 * 400, 86400 * 365 * 30):
        assert span / series_bucket_seconds(span) + 1 <= SERIES_MAX_POINTS


def test_series_query_counts_are_pinned(stream, owner):
    add_data(stream, 50)
    client = logged_in(owner)
    window = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    # default: session, user, stream. streamdata: a day is wide enough for minute roll-ups, whose counts say the
    # readings are few enough to send as they are (the window is whole minutes: no edges); then those readings.
    with assert_query_count(3), assert_query_count(2, using="streamdata"):
        assert client.get(stream_url(stream, "series"), window).json()["points"] == 50
    # No window: the stream's first and last times are read first; 49 minutes are read from the rows.
    with assert_query_count(3), assert_query_count(2, using="streamdata"):
        client.get(stream_url(stream, "series"))


def test_a_million_readings_are_downsampled_by_the_database(stream, owner):
    add_generated_readings(stream, count=1_000_000, start=T0, step_seconds=30)
    client = logged_in(owner)

    # streamdata: first and last times, then the buckets: the hour roll-ups inside the window and the rows of its
    # last, partial hour. No reading is read: the roll-ups' counts say there are too many to send.
    with assert_query_count(3), assert_query_count(3, using="streamdata"):
        response = client.get(stream_url(stream, "series"))
    body = response.json()
    assert 0 < body["points"] == len(body["x"]) <= SERIES_MAX_POINTS
    assert body["count"] == 1_000_000
    assert body["bucket_seconds"] == 86400 // 4  # 347 days in at most 1500 buckets
    mean, low, high = body["series"][0]["values"], body["series"][0]["min"], body["series"][0]["max"]
    assert all(lo <= m <= hi for lo, m, hi in zip(low, mean, high, strict=True))

    # A zoomed window of the same stream is a handful of raw readings: one query.
    with assert_query_count(1, using="streamdata"):
        zoomed = client.get(stream_url(stream, "series"), {"start": "2026-02-01T00:00:00Z", "end": "2026-02-01T01:00Z"})
    assert zoomed.json()["points"] == 120
    assert zoomed.json()["bucket_seconds"] is None

    # The page: the stream's summary and one page of the table, whatever the stream's length.
    with assert_query_count(3), assert_query_count(2, using="streamdata"):
        page = client.get(stream_url(stream))
    assert page.context["summary"].count == 1_000_000
    assert page.context["table"]["rows"][0]["streamer_local_id"] == 1_000_000


# The table --------------------------------------------------------------------------------------------------------


def ids(page) -> list[int]:
    return [row.streamer_local_id for row in page.rows]


def test_table_pages_by_keyset_newest_first(stream):
    add_data(stream, 12)  # streamer ids 1..12
    newest = stream_data_table_page(series=stream.series, size=5)
    assert ids(newest) == [12, 11, 10, 9, 8]
    assert newest.newer is None

    older = stream_data_table_page(series=stream.series, before=newest.older, size=5)
    assert ids(older) == [7, 6, 5, 4, 3]
    last = stream_data_table_page(series=stream.series, before=older.older, size=5)
    assert ids(last) == [2, 1]
    assert last.older is None

    back = stream_data_table_page(series=stream.series, after=last.newer, size=5)
    assert ids(back) == [7, 6, 5, 4, 3]
    oldest = stream_data_table_page(series=stream.series, oldest=True, size=5)
    assert ids(oldest) == [5, 4, 3, 2, 1]
    assert oldest.older is None
    assert ids(stream_data_table_page(series=stream.series, after=oldest.newer, size=5)) == [10, 9, 8, 7, 6]


def test_table_pages_through_readings_that_share_a_timestamp(stream):
    add_data(stream, 7, step=timedelta(0))  # all at T0: the row id breaks the tie
    first = stream_data_table_page(series=stream.series, size=3)
    second = stream_data_table_page(series=stream.series, before=first.older, size=3)
    third = stream_data_table_page(series=stream.series, before=second.older, size=3)
    assert ids(first) + ids(second) + ids(third) == [7, 6, 5, 4, 3, 2, 1]


def test_table_links_keep_the_window(stream, owner):
    add_data(stream, TABLE_PAGE_SIZE + 10)
    client = logged_in(owner)
    page = client.get(stream_url(stream), {"range": "24h"}).context["table"]
    assert page["older_url"].startswith(stream_url(stream) + "?range=24h&before=")
    assert page["newer_url"] is None
    assert page["newest_url"] is None

    fragment = client.get(stream_url(stream, "table") + "?" + page["older_url"].split("?", 1)[1])
    assert fragment.status_code == 200
    assert len(fragment.context["table"]["rows"]) == 10
    assert fragment.context["table"]["newer_url"] is not None
    assert "<html" not in fragment.content.decode()


@pytest.mark.parametrize("cursor", ["x", "-1", "+1", " 1", "1_0", "\u0661\u0662", str(2**63), "1" * 30])
@pytest.mark.parametrize("key", ["before", "after"])
def test_table_with_a_bad_cursor_is_404(stream, owner, key, cursor):
    """A cursor is a row id as ids are written: a sign, spaces, another script's digits or a number past bigint name
    no page."""
    assert logged_in(owner).get(stream_url(stream, "table"), {key: cursor}).status_code == 404


def test_table_fragment_query_counts_are_pinned(stream, owner):
    add_data(stream, 80)
    client = logged_in(owner)
    # streamdata: the stream's first and last times (for the "all" window), then the page.
    with assert_query_count(3), assert_query_count(2, using="streamdata"):
        client.get(stream_url(stream, "table"), {"before": "1"})
    with assert_query_count(3), assert_query_count(1, using="streamdata"):
        client.get(stream_url(stream, "table"), {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"})


# The CSV download -------------------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_streams_every_reading_of_the_window_in_the_output_unit(stream, owner):
    fahrenheit(stream)
    add_data(stream, 6)
    response = logged_in(owner).get(
        stream_url(stream, "csv"), {"start": "2026-01-01T00:01:00Z", "end": "2026-01-01T00:04:00Z"}
    )

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{stream.slug}_20260101T000100Z_20260101T000400Z.csv"'
    )
    rows = read_csv(response)
    assert rows[0] == ["timestamp", "value", "int_value", "streamer_local_id", "status"]
    assert rows[1:] == [
        ["2026-01-01T00:01:00Z", "33.8", "1", "2", "unk"],
        ["2026-01-01T00:02:00Z", "35.6", "2", "3", "unk"],
        ["2026-01-01T00:03:00Z", "37.4", "3", "4", "unk"],
    ]


def test_csv_of_the_whole_stream_comes_in_chunks(stream, owner):
    add_generated_readings(stream, count=12_345, start=T0, step_seconds=60)
    response = logged_in(owner).get(stream_url(stream, "csv"))
    chunks = list(response.streaming_content)
    assert len(chunks) > 2  # written and sent a chunk at a time, not built whole
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 12_346
    assert rows[1][0] == "2026-01-01T00:00:00Z"
    assert rows[-1][3] == "12345"


def test_csv_of_a_stream_without_readings(stream, owner):
    response = logged_in(owner).get(stream_url(stream, "csv"))
    assert read_csv(response) == [["timestamp", "value", "int_value", "streamer_local_id", "status"]]
    assert response["Content-Disposition"] == f'attachment; filename="{stream.slug}.csv"'
