from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.testing import assert_query_count, make_member, make_org
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.report.models import GeneratedUserReport, ReportStatus, UserReport
from server.apps.report.tests.factories import load_readings, make_generated, make_report_project, make_template
from server.apps.worker.models import QueueMessage


@pytest.fixture(autouse=True)
def _stores(folder_stores):
    return folder_stores


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def list_url(org) -> str:
    return reverse("report:list", kwargs={"org_slug": org.slug})


def generated_url(generated, name: str = "generated") -> str:
    return reverse(f"report:{name}", kwargs={"org_slug": generated.org.slug, "generated_id": generated.pk})


@pytest.mark.parametrize("rows", [1, 4])
def test_query_counts_are_constant(db, rows):
    project, _ = make_report_project()
    for _ in range(rows):
        make_generated(project)
    client = logged_in(project.org.created_by)
    # session, user, the organisation, role and permissions, projects, templates (count, page), runs (count, page)
    with assert_query_count(9):
        response = client.get(list_url(project.org))
    assert response.context["generated"].paginator.count == rows
    generated = GeneratedUserReport.objects.first()
    page, progress = generated_url(generated), generated_url(generated, "progress")
    # session, user, the run with its organisation and project, role and permissions
    with assert_query_count(4):
        response = client.get(page)
    assert response.context["download_url"]
    with assert_query_count(3):
        assert client.get(progress).json() == {
            "status": "Generated",
            "progress": 100,
            "done": True,
        }


def test_making_and_generating_a_template(db, django_capture_on_commit_callbacks):
    project, (stream, _) = make_report_project()
    client = logged_in(project.org.created_by)
    body = {"label": "Levels", "project": project.slug, "sources": stream.slug, "aggregation": "day", "format": "xlsx"}
    response = client.post(reverse("report:create", args=[project.org.slug]), body)
    assert response.status_code == 302
    template = UserReport.objects.get()
    assert (template.sources, template.aggregation, template.format) == ([stream.slug], "day", "xlsx")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("report:generate", args=[project.org.slug, template.id]))
    generated = GeneratedUserReport.objects.get()
    assert response.url == generated_url(generated)
    assert QueueMessage.objects.get(action="GenerateReport").arguments == {"generated_id": str(generated.pk)}
    page = client.get(generated_url(generated))
    assert page.context["progress"] == {"status": "Scheduled", "progress": 0, "done": False}
    assert "download_url" not in page.context


def test_a_bad_template_shows_the_form_again(db):
    project, _ = make_report_project()
    client = logged_in(project.org.created_by)
    body = {"label": "Bad", "project": project.slug, "sources": "s--nope", "aggregation": "raw", "format": "csv"}
    response = client.post(reverse("report:create", args=[project.org.slug]), body)
    assert response.status_code == 200
    assert response.context["report_form"].errors["sources"]
    body = {"label": "Bad", "project": project.slug, "start": "2026-02-01", "end": "2026-01-01", "format": "csv"}
    response = client.post(reverse("report:create", args=[project.org.slug]), body)
    assert response.context["report_form"].errors
    assert not UserReport.objects.exists()


def test_a_failed_report_shows_why(db):
    project, _ = make_report_project()
    generated = make_generated(project)
    GeneratedUserReport.objects.filter(pk=generated.pk).update(status=ReportStatus.ERROR, error="No space left.")
    response = logged_in(project.org.created_by).get(generated_url(generated))
    assert b"No space left." in response.content
    assert "download_url" not in response.context


def test_roles_and_other_organisations(db):
    project, (stream, _) = make_report_project()
    load_readings(stream, 100)
    template = make_template(project)
    generated = make_generated(project, template)
    org = project.org
    export = reverse("report:export", args=[org.slug, project.slug])

    member = logged_in(make_member(org, MEMBER))
    assert member.get(generated_url(generated)).status_code == 200
    assert member.post(reverse("report:generate", args=[org.slug, template.id])).status_code == 403
    rows = list(csv.reader(io.StringIO(b"".join(member.get(export).streaming_content).decode())))
    assert len(rows) == 101

    operator = logged_in(make_member(org, OPERATOR))
    assert operator.get(generated_url(generated)).status_code == 404
    assert operator.get(list_url(org)).context["templates"] is None
    assert operator.get(export).status_code == 403

    outsider = logged_in(make_org().created_by)
    assert outsider.get(generated_url(generated)).status_code == 404
    assert outsider.get(generated_url(generated, "progress")).status_code == 404
    assert outsider.get(list_url(org)).status_code == 404
    assert outsider.get(export).status_code == 404
    assert outsider.post(reverse("report:generate", args=[org.slug, template.id])).status_code == 404
    owner = logged_in(org.created_by)
    assert owner.get(reverse("report:generate", args=[org.slug, template.id])).status_code == 405
    assert owner.post(reverse("report:generate", args=[org.slug, "99999"])).status_code == 404
    assert owner.get(f"/org/{org.slug}/reports/generated/not-a-uuid/").status_code == 404
    assert GeneratedUserReport.objects.count() == 1
