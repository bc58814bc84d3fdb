"""``StreamDataFilterSet.rows``: with ``lastn`` the newest rows are read in one statement (``NewestRows``), and they
are exactly the rows, order and count that the filterset's own queryset gives, sliced as the paginator slices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import QueryDict

from server.apps.core.testing import assert_query_count
from server.apps.device.tests.factories import T0, add_data, make_device, make_project, make_stream
from server.apps.streamdata.api.serializers import ROW_COLUMNS
from server.apps.streamdata.filtersets import StreamDataFilterSet
from server.apps.streamdata.selectors.rows import NewestRows, stream_data_for_series

PARAMETERS = [
    {"lastn": "5"},
    {"lastn": "0"},
    {"lastn": "500"},
    {"lastn": "7", "end": (T0 + timedelta(minutes=20)).isoformat()},
    {"lastn": "7", "start": (T0 + timedelta(minutes=15)).isoformat(), "streamer_id_1": "40"},
    {"lastn": "12", "streamer_id_0": "30"},
    {"start": T0.isoformat(), "end": (T0 + timedelta(minutes=9)).isoformat()},
    {},
]


@pytest.fixture
def streams(db):
    project = make_project()
    first, second = make_stream(make_device(project)), make_stream(make_device(project))
    add_data(first, 30)
    # Same times as the first stream's (ties broken by id), and some later ones.
    add_data(second, 40, first_id=1)
    add_data(first, 10, start=T0 + timedelta(hours=1), first_id=100)
    return [first, second]


@pytest.mark.parametrize("parameters", PARAMETERS)
def test_rows_are_those_of_the_filterset_queryset(streams, parameters):
    query = QueryDict(mutable=True)
    query.update(parameters)
    for series in ([streams[0].series], [stream.series for stream in streams]):
        filterset = StreamDataFilterSet(query, queryset=stream_data_for_series(series=series))
        assert filterset.is_valid(), filterset.errors
        rows = filterset.rows(ROW_COLUMNS)
        expected = filterset.qs.values_list(*ROW_COLUMNS)
        assert isinstance(rows, NewestRows) == (parameters.get("lastn", "0") != "0")
        assert rows.count() == expected.count()
        assert list(rows[0:1000]) == list(expected)
        for start, stop in ((0, 4), (3, 9), (25, 60), (60, 70)):
            assert list(rows[start:stop]) == list(expected[start:stop])


def test_newest_rows_are_one_statement_with_any_columns(streams):
    filterset = StreamDataFilterSet(QueryDict("lastn=3"), queryset=stream_data_for_series(series=[streams[0].series]))
    assert filterset.is_valid()
    rows = filterset.rows(("value", "series"))  # neither of the ordering columns
    with assert_query_count(1, using="streamdata"):
        assert list(rows.iterator()) == [(7.0, streams[0].series), (8.0, streams[0].series), (9.0, streams[0].series)]
    with pytest.raises(TypeError):
        rows[2]


def test_the_form_class_is_built_once_and_still_validates():
    first, second = StreamDataFilterSet(QueryDict("lastn=5")), StreamDataFilterSet(QueryDict("lastn=-1"))
    assert first.get_form_class() is second.get_form_class()
    assert first.is_valid()
    assert first.form.cleaned_data["lastn"] == 5
    assert not second.is_valid()
    assert "lastn" in second.errors
