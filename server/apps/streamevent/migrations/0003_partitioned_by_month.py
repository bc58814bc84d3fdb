"""Events in monthly partitions, as the stream data (streamdata 0005), so event retention drops whole partitions and
frees their files (docs/retention.md).

The table is converted in place with the events kept: the old one is renamed, a table with the same columns
partitioned by range of ``timestamp`` takes its name (a partition per month that holds events, this month and the
next two, and a DEFAULT partition), the events move over, the old table goes, then the indexes, the organisation's
foreign key and the write claims table (``streamevent_writeclaim``) are made. A unique index on a partitioned table
must hold the partition key: the exactly-once index becomes ``(series, streamer_local_id, timestamp)`` and the
uuid's ``(uuid, timestamp)``, and the write path looks both up across the partitions under a range claim
(``streamevent.services.stream_events_bulk_insert``, docs/databases.md). ``id`` takes its values from a sequence
owned by the column, and is indexed but no longer a primary key.
"""

import uuid

from django.db import migrations, models
from django.utils import timezone

from server.apps.streamdata.partitions import table_partition_in_place

TABLE = "streamevent_streameventdata"
OLD = "streamevent_streameventdata_unpartitioned"
ORG_KEY = (
    f"ALTER TABLE {TABLE} ADD CONSTRAINT streamevent_streameventdata_org_id_fk_org_org_id FOREIGN KEY (org_id) "
    "REFERENCES org_org (id) DEFERRABLE INITIALLY DEFERRED"
)


def partition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        table_partition_in_place(cursor, TABLE, now=timezone.now())
        cursor.execute(f"CREATE INDEX streamevent_series_time ON {TABLE} (series, timestamp)")
        cursor.execute(
            f"CREATE UNIQUE INDEX streamevent_unique_series_reading ON {TABLE} (series, streamer_local_id, timestamp) "
            "NULLS NOT DISTINCT WHERE streamer_local_id > 0"
        )
        cursor.execute(f"CREATE UNIQUE INDEX streamevent_unique_uuid ON {TABLE} (uuid, timestamp) NULLS NOT DISTINCT")
        cursor.execute(f"CREATE INDEX streamevent_row_id ON {TABLE} (id)")
        cursor.execute(f"CREATE INDEX streamevent_streameventdata_org_id ON {TABLE} (org_id)")
        cursor.execute(ORG_KEY)
        # Range claims held by an event write while it runs (streamdata.services.stream_data_claims_sql).
        cursor.execute(
            "CREATE TABLE streamevent_writeclaim (owner xid8 NOT NULL DEFAULT pg_current_xact_id(), "
            "ids int8range NOT NULL, EXCLUDE USING gist (ids WITH &&))"
        )


def unpartition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP TABLE streamevent_writeclaim")
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS)")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")
        cursor.execute(f"ALTER SEQUENCE streamevent_streameventdata_id_seq OWNED BY {TABLE}.id")
        cursor.execute(f"DROP TABLE {OLD}")
        cursor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id)")
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT streamevent_streameventdata_uuid_key UNIQUE (uuid)")
        cursor.execute(f"CREATE INDEX streamevent_series_time ON {TABLE} (series, timestamp)")
        cursor.execute(
            f"CREATE UNIQUE INDEX streamevent_unique_series_reading ON {TABLE} (series, streamer_local_id) "
            "WHERE streamer_local_id > 0"
        )
        cursor.execute(f"CREATE INDEX streamevent_streameventdata_org_id ON {TABLE} (org_id)")
        cursor.execute(ORG_KEY)


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("streamevent", "0002_events_keyed_by_series"),
        ("org", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(partition, unpartition, elidable=False)],
            state_operations=[
                migrations.AlterField(
                    model_name="streameventdata",
                    name="uuid",
                    field=models.UUIDField(default=uuid.uuid4, editable=False),
                ),
                migrations.RemoveConstraint(model_name="streameventdata", name="streamevent_unique_series_reading"),
                migrations.AddConstraint(
                    model_name="streameventdata",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("streamer_local_id__gt", 0)),
                        fields=("series", "streamer_local_id", "timestamp"),
                        name="streamevent_unique_series_reading",
                        nulls_distinct=False,
                    ),
                ),
                migrations.AddConstraint(
                    model_name="streameventdata",
                    constraint=models.UniqueConstraint(
                        fields=("uuid", "timestamp"), name="streamevent_unique_uuid", nulls_distinct=False
                    ),
                ),
                migrations.AddIndex(
                    model_name="streameventdata",
                    index=models.Index(fields=["id"], name="streamevent_row_id"),
                ),
            ],
        ),
    ]
