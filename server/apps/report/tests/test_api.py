from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client

from server.apps.core.testing import ScopedEndpointCases, api_client, make_member, make_org
from server.apps.device.tests.factories import T0
from server.apps.org.roles import MEMBER, OPERATOR, OWNER
from server.apps.report.models import GeneratedUserReport, ReportStatus, UserReport
from server.apps.report.tests.factories import (
    load_readings,
    make_generated,
    make_report_project,
    make_template,
)
from server.apps.streamdata.models import StreamData
from server.apps.worker.models import QueueMessage

REPORTS = "/api/v1/report/"
GENERATED = "/api/v1/report/generated/"
EXPORT = "/api/v1/report/export/"


@pytest.fixture(autouse=True)
def _stores(folder_stores):
    return folder_stores


class TestReportEndpoint(ScopedEndpointCases):
    list_url = REPORTS
    list_key = "id"
    list_query_count = 3
    allowed_role = OWNER
    denied_role = MEMBER
    hidden_role = OPERATOR
    stored_as = {"project": "project.slug"}

    def make_object(self, org):
        project, _ = make_report_project(org, streams=1)
        return make_template(project)

    def detail_url(self, obj) -> str:
        return f"{REPORTS}{obj.id}/"

    def write_data(self, obj) -> dict:
        return {"label": "Renamed", "aggregation": "hour", "format": "xlsx", "start": "2026-01-01T00:00:00Z"}

    def create_data(self, org) -> dict:
        project, (stream,) = make_report_project(org, streams=1)
        return {
            "label": "Levels",
            "project": project.slug,
            "sources": [stream.slug],
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-02-01T00:00:00Z",
            "aggregation": "day",
            "format": "html",
        }


class TestReportGenerateEndpoint(ScopedEndpointCases):
    write_method = None
    allowed_role = OWNER
    create_denied_role = MEMBER
    created_model = GeneratedUserReport
    stored_as = {}

    def make_object(self, org):
        project, _ = make_report_project(org, streams=1)
        return make_template(project)

    def detail_url(self, obj) -> None:
        return None

    def create_url(self, org) -> str:
        template = UserReport.objects.filter(org=org).first() or self.make_object(org)
        return f"{REPORTS}{template.id}/generate/"

    def create_data(self, org) -> dict:
        return {}


class TestReportExportEndpoint(ScopedEndpointCases):
    write_method = None
    allowed_role = MEMBER

    def make_object(self, org):
        project, _ = make_report_project(org, streams=1)
        return project

    def detail_url(self, obj) -> str:
        return f"{EXPORT}?project={obj.slug}"


class TestGeneratedReportEndpoint(ScopedEndpointCases):
    list_url = GENERATED
    list_key = "id"
    list_query_count = 3
    write_method = "delete"
    allowed_role = OWNER
    denied_role = MEMBER
    hidden_role = OPERATOR

    def make_object(self, org):
        project, _ = make_report_project(org, streams=1)
        return make_generated(project)

    def detail_url(self, obj) -> str:
        return f"{GENERATED}{obj.id}/"


class TestGeneratedReportFileEndpoint(ScopedEndpointCases):
    write_method = None
    allowed_role = MEMBER
    hidden_role = OPERATOR

    def make_object(self, org):
        project, _ = make_report_project(org, streams=1)
        return make_generated(project, content=b"stream,timestamp,value\ns--x,2026,1.5\n")

    def detail_url(self, obj) -> str:
        return f"{GENERATED}{obj.id}/file/"


@pytest.fixture
def owner_project(db):
    project, streams = make_report_project()
    return project.org.created_by, project, streams


def test_generate_then_follow_then_download(owner_project, django_capture_on_commit_callbacks):
    owner, project, (stream, _) = owner_project
    load_readings(stream, 500)
    client = api_client(owner)
    created = client.post(REPORTS, {"label": "All", "project": project.slug, "format": "csv"}, format="json")
    assert created.status_code == 201, created.content
    with django_capture_on_commit_callbacks(execute=True):
        scheduled = client.post(f"{REPORTS}{created.json()['id']}/generate/")
    assert scheduled.status_code == 201
    body = scheduled.json()
    assert (body["status"], body["progress"]) == ("GS", 0)
    assert client.get(f"{GENERATED}{body['id']}/file/").status_code == 409

    from server.apps.report.jobs import GenerateReport

    message = QueueMessage.objects.get(action="GenerateReport")
    GenerateReport().execute(message.arguments)
    done = client.get(f"{GENERATED}{body['id']}/").json()
    assert (done["status"], done["progress"], done["row_count"]) == ("G1", 100, 500)
    url = client.get(f"{GENERATED}{body['id']}/file/").json()["url"]
    # The signed link needs no login, and is the stores' one mechanism.
    assert "/stores/files/" in url
    download = Client().get(url)
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert len(rows) == 501
    assert rows[1][0] == stream.slug


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sources": ["s--nope"]}, "sources"),
        ({"sources": "s--0000-0001--0000-0000-0000-0001--5001"}, "sources"),
        ({"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "end"),
        ({"aggregation": "fortnight"}, "aggregation"),
        ({"format": "pdf"}, "format"),
        ({"start": "yesterday"}, "start"),
    ],
)
def test_bad_templates_are_400(owner_project, body, field):
    owner, project, _ = owner_project
    response = api_client(owner).post(REPORTS, {"label": "Bad", "project": project.slug, **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert not UserReport.objects.exists()


def test_sources_of_another_project_are_400(owner_project):
    owner, project, _ = owner_project
    _, (foreign, _) = make_report_project(project.org)
    body = {"label": "Mixed", "project": project.slug, "sources": [foreign.slug]}
    response = api_client(owner).post(REPORTS, body, format="json")
    assert response.status_code == 400
    assert foreign.slug in response.json()["detail"]


def test_another_orgs_project_is_404(owner_project):
    _, project, _ = owner_project
    outsider = make_org().created_by
    response = api_client(outsider).post(REPORTS, {"label": "x", "project": project.slug}, format="json")
    assert response.status_code == 404
    assert api_client(outsider).get(EXPORT, {"project": project.slug}).status_code == 404


def test_a_failed_report_says_why(owner_project):
    owner, project, _ = owner_project
    generated = make_generated(project)
    GeneratedUserReport.objects.filter(pk=generated.pk).update(
        status=ReportStatus.ERROR, error="The file store was full."
    )
    body = api_client(owner).get(f"{GENERATED}{generated.id}/").json()
    assert (body["status"], body["error"]) == ("GE", "The file store was full.")
    assert api_client(owner).get(f"{GENERATED}{generated.id}/file/").status_code == 409


def test_the_export_streams_every_reading_of_the_project(owner_project):
    owner, project, (stream, other) = owner_project
    load_readings(stream, 25_000)
    load_readings(other, 10, t0=T0 + timedelta(days=3))
    response = api_client(make_member(project.org, MEMBER)).get(EXPORT, {"project": project.slug})
    assert response.status_code == 200
    assert response.streaming
    pieces = list(response.streaming_content)
    # A header, then pieces of at most 10,000 rows.
    assert len(pieces) == 1 + 3 + 1
    rows = list(csv.reader(io.StringIO(b"".join(pieces).decode())))
    assert rows[0] == ["stream", "timestamp", "value"]
    assert len(rows) == 1 + 25_010
    mine = [row for row in rows[1:] if row[0] == stream.slug]
    assert mine[0][1] == "2026-01-01T00:00:01.300000Z"
    stored = StreamData.objects.filter(series=stream.series).order_by("timestamp").values_list("value", flat=True)
    assert [float(value) for *_, value in mine] == list(stored)
    assert api_client(make_member(project.org, OPERATOR)).get(EXPORT, {"project": project.slug}).status_code == 403
    assert api_client(owner).get(EXPORT).status_code == 400
    assert api_client(owner).get(EXPORT, {"project": "p--zz"}).status_code == 400


def test_on_s3_the_link_is_presigned_and_downloads_the_report(s3_stores, db, django_capture_on_commit_callbacks):
    import urllib.request

    project, (stream, _) = make_report_project()
    load_readings(stream, 300)
    template = make_template(project, sources=[stream.slug], format="html")
    client = api_client(project.org.created_by)
    with django_capture_on_commit_callbacks(execute=True):
        generated_id = client.post(f"{REPORTS}{template.id}/generate/").json()["id"]
    from server.apps.report.jobs import GenerateReport

    GenerateReport().execute({"generated_id": generated_id})
    url = client.get(f"{GENERATED}{generated_id}/file/").json()["url"]
    assert "X-Amz-Signature" in url or "Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        page = response.read().decode()
        assert response.headers["Content-Type"] == "text/html"
    assert 'data-count="300"' in page
