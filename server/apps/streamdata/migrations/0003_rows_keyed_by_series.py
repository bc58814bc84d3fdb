"""Rows keyed by their stream's series id instead of four slug columns.

The series ids live on ``StreamId`` in the default database (stream 0003 gave every stream one), so the default
database is migrated first (``inv migrate`` does). Each distinct ``stream_slug`` of the rows is looked up there; a
slug no ``StreamId`` holds (rows left by a stream deleted outside the services) gets a series of its own from the same
sequence, so it can never collide with a stream's, and its rows stay unreachable as they were. Then one UPDATE
writes the ids, and the slug columns and their indexes go.
"""

from django.db import DEFAULT_DB_ALIAS, connections, migrations, models


def fill_series(apps, schema_editor):
    rows = schema_editor.connection
    with rows.cursor() as cursor:
        cursor.execute("SELECT DISTINCT stream_slug FROM streamdata_streamdata")
        slugs = [slug for (slug,) in cursor.fetchall()]
    if not slugs:
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'stream_streamid' AND column_name = 'series'"
        )
        if cursor.fetchone() is None:
            raise RuntimeError("Migrate the default database first: stream 0003 gives streams their series ids.")
        cursor.execute("SELECT slug, series FROM stream_streamid WHERE slug = ANY(%s)", [slugs])
        series = dict(cursor.fetchall())
        orphans = [slug for slug in slugs if slug not in series]
        if orphans:
            cursor.execute("SELECT nextval('stream_series_seq') FROM generate_series(1, %s)", [len(orphans)])
            series.update(zip(orphans, (value for (value,) in cursor.fetchall()), strict=True))
            print(f"\n  {len(orphans)} stream slug(s) without a StreamId got series of their own: {orphans[:5]}")
    with rows.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE streamdata_series_map (slug varchar(48) PRIMARY KEY, series integer)")
        cursor.execute(
            "INSERT INTO streamdata_series_map SELECT * FROM unnest(%s::varchar[], %s::integer[])",
            [list(series), list(series.values())],
        )
        cursor.execute(
            "UPDATE streamdata_streamdata AS data SET series = map.series FROM streamdata_series_map AS map "
            "WHERE data.stream_slug = map.slug"
        )
        cursor.execute("DROP TABLE streamdata_series_map")


class Migration(migrations.Migration):
    dependencies = [
        ("streamdata", "0002_slug_collation_c"),
        ("stream", "0003_stream_series"),
    ]

    operations = [
        migrations.AddField(model_name="streamdata", name="series", field=models.IntegerField(null=True)),
        migrations.RunPython(fill_series, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(model_name="streamdata", name="series", field=models.IntegerField()),
        migrations.RemoveConstraint(model_name="streamdata", name="streamdata_unique_stream_reading"),
        migrations.RemoveIndex(model_name="streamdata", name="streamdata_stream_time"),
        migrations.RemoveIndex(model_name="streamdata", name="streamdata_device_time"),
        migrations.RemoveField(model_name="streamdata", name="stream_slug"),
        migrations.RemoveField(model_name="streamdata", name="project_slug"),
        migrations.RemoveField(model_name="streamdata", name="device_slug"),
        migrations.RemoveField(model_name="streamdata", name="variable_slug"),
        migrations.AlterModelOptions(name="streamdata", options={"ordering": ["series", "timestamp"]}),
        migrations.AddIndex(
            model_name="streamdata",
            index=models.Index(fields=["series", "timestamp"], name="streamdata_series_time"),
        ),
        migrations.AddConstraint(
            model_name="streamdata",
            constraint=models.UniqueConstraint(
                condition=models.Q(("streamer_local_id__gt", 0)),
                fields=("series", "streamer_local_id"),
                name="streamdata_unique_series_reading",
            ),
        ),
    ]
