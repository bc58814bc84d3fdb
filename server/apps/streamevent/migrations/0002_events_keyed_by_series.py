"""Events keyed by their stream's series id instead of four slug columns. Both tables are on the default database:
one UPDATE joins each event to its stream by slug; events of a slug no ``StreamId`` holds get a series of their own
per slug from the same sequence (they stay unreachable, as they were)."""

from django.db import migrations, models


def fill_series(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE streamevent_streameventdata AS event SET series = stream.series FROM stream_streamid AS stream "
            "WHERE stream.slug = event.stream_slug"
        )
        cursor.execute(
            "WITH orphan AS (SELECT slug, nextval('stream_series_seq') AS series FROM "
            "(SELECT DISTINCT stream_slug AS slug FROM streamevent_streameventdata WHERE series IS NULL) AS slugs) "
            "UPDATE streamevent_streameventdata AS event SET series = orphan.series FROM orphan "
            "WHERE event.stream_slug = orphan.slug AND event.series IS NULL"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("streamevent", "0001_initial"),
        ("stream", "0003_stream_series"),
    ]

    operations = [
        migrations.AddField(model_name="streameventdata", name="series", field=models.IntegerField(null=True)),
        migrations.RunPython(fill_series, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(model_name="streameventdata", name="series", field=models.IntegerField()),
        migrations.RemoveConstraint(model_name="streameventdata", name="streamevent_unique_stream_reading"),
        migrations.RemoveIndex(model_name="streameventdata", name="streamevent_stream_time"),
        migrations.RemoveField(model_name="streameventdata", name="stream_slug"),
        migrations.RemoveField(model_name="streameventdata", name="project_slug"),
        migrations.RemoveField(model_name="streameventdata", name="device_slug"),
        migrations.RemoveField(model_name="streameventdata", name="variable_slug"),
        migrations.AlterModelOptions(name="streameventdata", options={"ordering": ["series", "timestamp"]}),
        migrations.AddIndex(
            model_name="streameventdata",
            index=models.Index(fields=["series", "timestamp"], name="streamevent_series_time"),
        ),
        migrations.AddConstraint(
            model_name="streameventdata",
            constraint=models.UniqueConstraint(
                condition=models.Q(("streamer_local_id__gt", 0)),
                fields=("series", "streamer_local_id"),
                name="streamevent_unique_series_reading",
            ),
        ),
    ]
