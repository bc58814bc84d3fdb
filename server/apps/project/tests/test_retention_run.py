"""Retention run now, by hand: owners (and staff) ask for it through ``retention/``, the worker applies it to that
project alone and writes on the run what went and the disk freed (docs/retention.md)."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from server.apps.core.testing import ScopedEndpointCases, api_client, make_member, make_org, make_user
from server.apps.device.tests.factories import add_data, make_device, make_project, make_stream
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR
from server.apps.project.models import Project, RetentionRun, RetentionRunStatus
from server.apps.project.tests.test_views import logged_in, project_url
from server.apps.streamdata.jobs import DataRetention
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.services import stream_data_partitions_ensure
from server.apps.streamdata.tests.test_rollups import assert_rolled_up
from server.apps.streamevent.models import StreamEventData
from server.apps.worker.models import QueueMessage
from server.apps.worker.runner import run_worker

API = "/api/v1"
RUNS = f"{API}/retention/"
TABLE = "streamdata_streamdata"


def _limited_project(org=None, days: int = 30) -> Project:
    project = make_project(org)
    Project.objects.filter(pk=project.pk).update(data_retention_days=days, event_retention_days=days)
    project.refresh_from_db()
    return project


class TestRetentionRunEndpoint(ScopedEndpointCases):
    list_url = RUNS
    list_key = "id"
    write_method = None
    denied_role = None
    create_denied_role = ADMIN  # administrators manage projects, but retention deletes data for good
    hidden_role = ADMIN
    list_query_count = 3  # authentication, count, page
    created_model = RetentionRun
    expected_create_status = (202,)
    stored_as = {"project": lambda run: str(run.project_id)}

    def make_object(self, org):
        project = _limited_project(org)
        return RetentionRun.objects.create(project=project, created_by=org.created_by)

    def detail_url(self, obj) -> str:
        return f"{RUNS}{obj.id}/"

    def create_data(self, org) -> dict:
        return {"project": str(_limited_project(org).id)}


def month_name(moment: datetime.datetime) -> str:
    return f"{TABLE}_p{moment:%Y%m}"


def partition_exists(name: str) -> bool:
    with connections["streamdata"].cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def test_an_owner_runs_it_now_and_reads_back_what_went_and_the_disk_freed(db):
    now = timezone.now()
    old = (now - datetime.timedelta(days=120)).replace(day=3, hour=0, minute=0, second=0, microsecond=0)
    project = _limited_project()
    # Another project keeping 30 days, in the same old month: its rows wait for its own run (or the daily one).
    other = _limited_project(project.org)
    stream, others = make_stream(make_device(project)), make_stream(make_device(other))
    add_data(stream, 500, start=old, step=datetime.timedelta(hours=1))  # ~3 weeks, four months ago
    add_data(stream, 48, start=now - datetime.timedelta(days=2), step=datetime.timedelta(hours=1), first_id=1000)
    add_data(others, 10, start=old, first_id=1)
    StreamEventData.objects.create(series=stream.series, org=project.org, timestamp=old)
    StreamEventData.objects.create(series=stream.series, org=project.org, timestamp=now)
    with connections["default"].cursor() as cursor:
        # As if committed (the test's transaction holds them): their deferred key check would stop a TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    stream_data_partitions_ensure(now=now)  # the old month gets its partition
    owner = project.org.created_by

    response = api_client(owner).post(RUNS, {"project": project.slug}, format="json")

    assert response.status_code == 202, response.content
    run = RetentionRun.objects.get()
    assert (run.project_id, run.created_by, run.status) == (project.pk, owner, RetentionRunStatus.SCHEDULED)
    assert response.json()["id"] == str(run.id)
    assert response.json()["status"] == "scheduled"
    message = QueueMessage.objects.get(action="DataRetention")
    assert message.arguments == {"run_id": str(run.id)}

    assert run_worker(burst=True).succeeded == 1

    run.refresh_from_db()
    assert run.status == RetentionRunStatus.DONE
    assert run.completed_on is not None
    # The old month also holds the other project's rows: deleted from, not dropped; nothing else of the other's went.
    assert run.partitions_dropped == []
    assert run.rows_deleted == 500
    assert run.events_deleted == 1
    assert StreamData.objects.filter(series=stream.series).count() == 48
    assert StreamData.objects.filter(series=others.series).count() == 10
    assert list(StreamEventData.objects.filter(series=stream.series).values_list("timestamp", flat=True)) == [now]
    assert_rolled_up(stream.series)
    polled = api_client(owner).get(f"{RUNS}{run.id}/").json()
    assert (polled["status"], polled["rows_deleted"], polled["events_deleted"]) == ("done", 500, 1)
    assert polled["bytes_freed"] == run.bytes_freed

    # The other project's run: now its rows are the last of the month, which is dropped and its disk freed.
    assert partition_exists(month_name(old))
    response = api_client(owner).post(RUNS, {"project": str(other.id)}, format="json")
    assert response.status_code == 202, response.content
    run_worker(burst=True)
    second = RetentionRun.objects.get(pk=response.json()["id"])
    assert second.status == RetentionRunStatus.DONE
    assert second.partitions_dropped == [month_name(old)]
    assert second.rows_deleted == 0
    assert second.bytes_freed > 0
    assert not partition_exists(month_name(old))
    assert not StreamData.objects.filter(series=others.series).exists()

    # A message delivered again changes nothing.
    DataRetention().execute({"run_id": str(second.id)})
    assert RetentionRun.objects.get(pk=second.pk).completed_on == second.completed_on


@pytest.mark.parametrize("role", [ADMIN, OPERATOR, MEMBER])
def test_only_owners_and_staff_may_run_it(db, role):
    project = _limited_project()
    response = api_client(make_member(project.org, role)).post(RUNS, {"project": str(project.id)}, format="json")
    assert response.status_code in ((403,) if role != MEMBER else (403, 404)), response.content
    outsider = api_client(make_org().created_by).post(RUNS, {"project": str(project.id)}, format="json")
    assert outsider.status_code == 404
    assert not RetentionRun.objects.exists()
    assert not QueueMessage.objects.filter(action="DataRetention").exists()
    staff = make_user(is_staff=True)
    assert api_client(staff).post(RUNS, {"project": str(project.id)}, format="json").status_code == 202
    assert RetentionRun.objects.get().created_by == staff


def test_a_project_keeping_everything_is_a_400(db):
    project = make_project()
    response = api_client(project.org.created_by).post(RUNS, {"project": str(project.id)}, format="json")
    assert response.status_code == 400
    assert "project" in response.json()
    assert not RetentionRun.objects.exists()


def test_a_failure_is_written_on_the_run_and_the_retry_runs_it_again(db, monkeypatch):
    project = _limited_project()
    run = RetentionRun.objects.create(project=project, created_by=project.org.created_by)

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("server.apps.streamdata.jobs.stream_events_retention_apply", broken)
    with pytest.raises(RuntimeError):
        DataRetention().execute({"run_id": str(run.id)})
    run.refresh_from_db()
    assert (run.status, run.error) == (RetentionRunStatus.FAILED, "RuntimeError: disk on fire")
    monkeypatch.undo()
    DataRetention().execute({"run_id": str(run.id)})
    run.refresh_from_db()
    assert (run.status, run.error) == (RetentionRunStatus.DONE, "")


def test_the_project_page_runs_it_and_shows_the_last_run(db):
    project = _limited_project()
    owner = project.org.created_by
    client = logged_in(owner)
    page = client.get(project_url(project))
    assert b'data-testid="retention-run-button"' in page.content
    assert b"run it now" in page.content

    response = client.post(project_url(project, "retention-run"))

    assert response.status_code == 302
    assert response["Location"] == project_url(project)
    run = RetentionRun.objects.get()
    assert (run.project_id, run.created_by, run.status) == (project.pk, owner, RetentionRunStatus.SCHEDULED)
    assert QueueMessage.objects.get(action="DataRetention").arguments == {"run_id": str(run.id)}
    assert b"scheduled" in client.get(project_url(project)).content
    run_worker(burst=True)
    shown = client.get(project_url(project)).content.decode()
    assert "done, 0 partitions dropped, 0 readings and 0 events deleted" in shown


def test_the_page_refuses_others_and_a_project_keeping_everything(db):
    project = _limited_project()
    admin = logged_in(make_member(project.org, ADMIN))
    assert b"retention-run-button" not in admin.get(project_url(project)).content
    assert admin.post(project_url(project, "retention-run")).status_code == 403
    assert logged_in(make_org().created_by).post(project_url(project, "retention-run")).status_code == 404
    assert not RetentionRun.objects.exists()
    keeps_all = make_project(project.org)
    response = logged_in(project.org.created_by).post(project_url(keeps_all, "retention-run"))
    assert response.status_code == 200
    assert b"keeps all its data" in response.content
    assert not RetentionRun.objects.exists()


def test_the_command_asks_the_worker_and_follows_the_run(db, monkeypatch):
    project = _limited_project()
    stream = make_stream(make_device(project))
    add_data(stream, 3, start=timezone.now() - datetime.timedelta(days=60))
    owner = project.org.created_by
    # Each wait of the command's poll is the worker's turn.
    monkeypatch.setattr(
        "server.apps.project.management.commands.retention_run.time.sleep", lambda seconds: run_worker(burst=True)
    )
    out = io.StringIO()
    call_command("retention_run", project=project.slug, user=owner.email, wait=60, stdout=out)
    run = RetentionRun.objects.get()
    assert (run.status, run.created_by, run.rows_deleted) == (RetentionRunStatus.DONE, owner, 3)
    printed = json.loads(out.getvalue())
    assert (printed["id"], printed["status"], printed["rows_deleted"]) == (str(run.id), "done", 3)
    assert not StreamData.objects.filter(series=stream.series).exists()
    # Without --wait it only asks; an account that may not is refused, nothing asked.
    call_command("retention_run", project=str(project.id), user=owner.username, stdout=io.StringIO())
    assert QueueMessage.objects.filter(action="DataRetention").count() == 1
    admin = make_member(project.org, ADMIN)
    with pytest.raises(CommandError, match="owners"):
        call_command("retention_run", project=str(project.id), user=admin.email, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No account"):
        call_command("retention_run", project=str(project.id), user="nobody@example.com", stdout=io.StringIO())
    assert RetentionRun.objects.count() == 2
