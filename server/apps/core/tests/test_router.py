"""The router sends StreamData to the streamdata database and everything else to default."""

from django.db import connections, router

from server.apps.core.testing import make_org
from server.apps.project.models import Project
from server.apps.streamdata.models import StreamData


def _tables(alias: str) -> set[str]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in cursor.fetchall()}


def test_routing_decisions():
    assert router.db_for_write(StreamData) == "streamdata"
    assert router.db_for_read(StreamData) == "streamdata"
    assert router.db_for_write(Project) == "default"
    assert router.allow_migrate("streamdata", "streamdata", model_name="streamdata") is True
    assert router.allow_migrate("default", "streamdata", model_name="streamdata") is False
    assert router.allow_migrate("streamdata", "project", model_name="project") is False


def test_tables_live_in_their_database(db):
    assert "streamdata_streamdata" in _tables("streamdata")
    assert "streamdata_streamdata" not in _tables("default")
    assert "project_project" in _tables("default")
    assert "project_project" not in _tables("streamdata")


def test_rows_are_written_to_the_streamdata_database(db):
    StreamData.objects.create(series=1, streamer_local_id=1, value=1.0)
    with connections["streamdata"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM streamdata_streamdata")
        assert cursor.fetchone()[0] == 1
    org = make_org()
    assert Project.objects.using("default").filter(org=org).count() == 0
