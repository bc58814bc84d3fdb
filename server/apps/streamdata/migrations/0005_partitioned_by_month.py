"""Stream data rows in monthly partitions, so retention drops whole partitions and frees their files (docs/retention.md).

The table is converted in place: the old one is renamed, a table with the same columns partitioned by range of
``timestamp`` takes its name (a partition per month that holds rows, this month and the next two, and a DEFAULT
partition), the rows move over, the old table goes and the indexes are built on the new one. A unique index on a
partitioned table must hold the partition key, so the exactly-once index becomes ``(series, streamer_local_id,
timestamp)``; the write paths add a lookup on ``(series, streamer_local_id)`` across the partitions and a short
range claim (``streamdata_writeclaim``) so that a reading is still stored once whatever its timestamp
(docs/databases.md). PostgreSQL 15 has no identity column on a partitioned table: ``id`` takes its values from a
sequence owned by the column, and is indexed but no longer a primary key (no query needs one).
"""

from django.db import migrations, models
from django.utils import timezone

from server.apps.streamdata.partitions import table_partition_in_place

TABLE = "streamdata_streamdata"
OLD = "streamdata_streamdata_unpartitioned"


def partition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        table_partition_in_place(cursor, TABLE, now=timezone.now())
        cursor.execute(f"CREATE INDEX streamdata_series_time ON {TABLE} (series, timestamp)")
        cursor.execute(
            f"CREATE UNIQUE INDEX streamdata_unique_series_reading ON {TABLE} (series, streamer_local_id, timestamp) "
            "NULLS NOT DISTINCT WHERE streamer_local_id > 0"
        )
        cursor.execute(f"CREATE INDEX streamdata_row_id ON {TABLE} (id)")
        # Range claims held by a write while it runs (streamdata.services.write_claims_sql): two writes of overlapping
        # readings of a series wait for each other, so the second one sees what the first stored.
        cursor.execute(
            "CREATE TABLE streamdata_writeclaim (owner xid8 NOT NULL DEFAULT pg_current_xact_id(), "
            "ids int8range NOT NULL, EXCLUDE USING gist (ids WITH &&))"
        )


def unpartition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP TABLE streamdata_writeclaim")
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS)")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")
        cursor.execute(f"ALTER SEQUENCE streamdata_streamdata_id_seq OWNED BY {TABLE}.id")
        cursor.execute(f"DROP TABLE {OLD}")
        cursor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id)")
        cursor.execute(f"CREATE INDEX streamdata_series_time ON {TABLE} (series, timestamp)")
        cursor.execute(
            f"CREATE UNIQUE INDEX streamdata_unique_series_reading ON {TABLE} (series, streamer_local_id) "
            "WHERE streamer_local_id > 0"
        )


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("streamdata", "0004_rollups"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(partition, unpartition, elidable=False)],
            state_operations=[
                migrations.RemoveConstraint(model_name="streamdata", name="streamdata_unique_series_reading"),
                migrations.AddConstraint(
                    model_name="streamdata",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("streamer_local_id__gt", 0)),
                        fields=("series", "streamer_local_id", "timestamp"),
                        name="streamdata_unique_series_reading",
                        nulls_distinct=False,
                    ),
                ),
                migrations.AddIndex(
                    model_name="streamdata",
                    index=models.Index(fields=["id"], name="streamdata_row_id"),
                ),
            ],
        ),
    ]
