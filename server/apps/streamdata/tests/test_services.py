from __future__ import annotations

from django.db import connections

from server.apps.device.tests.factories import T0, add_data, make_device, make_project, make_stream
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_delete, stream_data_row


def test_bulk_insert_skips_readings_already_stored(db):
    stream = make_stream(make_device(make_project()))
    assert len(add_data(stream, 10)) == 10
    # Same streamer ids again, plus five new ones: only the new ones land.
    inserted = add_data(stream, 15)
    assert len(inserted) == 5
    assert StreamData.objects.filter(series=stream.series).count() == 15
    # Readings without a streamer id (0) are never considered duplicates.
    rows = [stream_data_row(series=stream.series, timestamp=T0, value=1.0) for _ in range(2)]
    assert len(stream_data_bulk_insert(rows=rows)) == 2
    assert stream_data_bulk_insert(rows=[]) == []


def test_rows_live_in_the_streamdata_database(db):
    stream = make_stream(make_device(make_project()))
    add_data(stream, 3)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT to_regclass('streamdata_streamdata')")
        assert cursor.fetchone()[0] is None
    with connections["streamdata"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM streamdata_streamdata WHERE series = %s", [stream.series])
        assert cursor.fetchone()[0] == 3


def test_delete_by_stream(db):
    project = make_project()
    kept, dropped = make_stream(make_device(project)), make_stream(make_device(project), lid=0x5002)
    add_data(kept, 2)
    add_data(dropped, 3)
    assert stream_data_delete(series=[dropped.series, dropped.series]) == 3
    assert set(StreamData.objects.values_list("series", flat=True)) == {kept.series}


def test_streams_get_distinct_series_from_the_sequence(db):
    project = make_project()
    first, second = make_stream(make_device(project)), make_stream(make_device(project), lid=0x5002)
    assert first.series > 0
    assert second.series > 0
    assert first.series != second.series
