"""Every stream gets a series id from a new sequence: the key of its rows in the streamdata database and of its
events. Existing streams are numbered as the column is added (PostgreSQL evaluates the default once per row)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stream", "0002_division_factor_not_zero"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS stream_series_seq AS integer",
            "DROP SEQUENCE IF EXISTS stream_series_seq",
        ),
        migrations.AddField(
            model_name="streamid",
            name="series",
            field=models.IntegerField(
                db_default=models.Func(
                    models.Value("stream_series_seq"), function="nextval", output_field=models.IntegerField()
                ),
                editable=False,
                unique=True,
            ),
        ),
    ]
