"""Commit marks per part of a report: the mark gets an id of its own, and ``(report_id, part)`` is unique. Existing
marks become part 0 of their report."""

import uuid

from django.db import migrations, models

# The RunSQL runs only where the model lives (the streamdata database); see server/config/routers.py.
HINTS = {"model_name": "ingestedreport"}


class Migration(migrations.Migration):
    dependencies = [
        ("streamer", "0002_report_counts_and_ingested_report"),
    ]

    operations = [
        migrations.RenameField(model_name="ingestedreport", old_name="report_id", new_name="id"),
        migrations.AlterField(
            model_name="ingestedreport",
            name="id",
            field=models.UUIDField(default=uuid.uuid4, primary_key=True, serialize=False),
        ),
        migrations.AddField(model_name="ingestedreport", name="report_id", field=models.UUIDField(null=True)),
        migrations.RunSQL("UPDATE streamer_ingestedreport SET report_id = id", migrations.RunSQL.noop, hints=HINTS),
        migrations.AlterField(model_name="ingestedreport", name="report_id", field=models.UUIDField()),
        migrations.AddField(
            model_name="ingestedreport", name="part", field=models.PositiveSmallIntegerField(default=0)
        ),
        migrations.AddConstraint(
            model_name="ingestedreport",
            constraint=models.UniqueConstraint(fields=("report_id", "part"), name="ingestedreport_report_part"),
        ),
    ]
