"""A project's retention: owners set it through the API and the project page, everyone else is refused, and every
change is in the audit log (docs/retention.md)."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from server.apps.audit.models import AuditEntry
from server.apps.core.testing import api_client, make_member, make_org, make_user
from server.apps.device.tests.factories import make_project
from server.apps.org.roles import ADMIN, MEMBER
from server.apps.project.models import Project
from server.apps.project.tests.test_views import logged_in, project_url

API = "/api/v1"


def retention_entries(project) -> list[dict]:
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Project), object_pk=str(project.pk)
    ).order_by("id")
    return [entry.changes_dict for entry in entries if "data_retention_days" in entry.changes_dict]


def test_owners_set_it_through_the_api_and_it_is_audited(db):
    project = make_project()
    owner = project.org.created_by
    url = f"{API}/project/{project.id}/"
    client = api_client(owner)
    assert client.get(url).json()["data_retention_days"] is None
    response = client.patch(url, {"data_retention_days": 30, "event_retention_days": 7}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["data_retention_days"], response.json()["event_retention_days"]) == (30, 7)
    project.refresh_from_db()
    assert (project.data_retention_days, project.event_retention_days) == (30, 7)
    # Other fields leave it as it is; null keeps everything again.
    assert client.patch(url, {"about": "Pumps"}, format="json").json()["data_retention_days"] == 30
    assert client.patch(url, {"data_retention_days": None}, format="json").json()["data_retention_days"] is None
    project.refresh_from_db()
    assert (project.data_retention_days, project.event_retention_days) == (None, 7)
    assert retention_entries(project) == [
        {"data_retention_days": [None, 30], "event_retention_days": [None, 7]},
        {"data_retention_days": [30, None]},
    ]
    created = client.post(
        f"{API}/project/", {"name": "Brief", "org": project.org.slug, "data_retention_days": 90}, format="json"
    )
    assert created.status_code == 201
    assert Project.objects.get(name="Brief").data_retention_days == 90


@pytest.mark.parametrize("value", [0, -1, 36501, "month", 1.5])
def test_a_bad_period_is_a_400(db, value):
    project = make_project()
    response = api_client(project.org.created_by).patch(
        f"{API}/project/{project.id}/", {"data_retention_days": value}, format="json"
    )
    assert response.status_code == 400
    assert "data_retention_days" in response.json()
    project.refresh_from_db()
    assert project.data_retention_days is None


def test_only_owners_may_set_it(db):
    project = make_project()
    url = f"{API}/project/{project.id}/"
    for role in (ADMIN, MEMBER):
        client = api_client(make_member(project.org, role))
        assert client.patch(url, {"data_retention_days": 1}, format="json").status_code == 403, role
        # An administrator still changes the rest.
        if role == ADMIN:
            assert client.patch(url, {"about": "x"}, format="json").status_code == 200
            assert (
                client.post(
                    f"{API}/project/", {"name": "N", "org": project.org.slug, "data_retention_days": 1}, format="json"
                ).status_code
                == 403
            )
    outsider = make_user()
    make_org(owner=outsider)
    assert api_client(outsider).patch(url, {"data_retention_days": 1}, format="json").status_code == 404
    project.refresh_from_db()
    assert project.data_retention_days is None
    assert not Project.objects.filter(name="N").exists()


def test_owners_set_it_on_the_project_page(db):
    project = make_project()
    owner_page = logged_in(project.org.created_by).get(project_url(project))
    assert "retention_form" in owner_page.context
    admin = logged_in(make_member(project.org, ADMIN))
    assert "retention_form" not in admin.get(project_url(project)).context
    assert admin.post(project_url(project, "retention"), {"data_retention_days": "5"}).status_code == 403
    owner = logged_in(project.org.created_by)
    bad = owner.post(project_url(project, "retention"), {"data_retention_days": "0"})
    assert bad.status_code == 200
    assert bad.context["retention_form"].errors["data_retention_days"]
    response = owner.post(project_url(project, "retention"), {"data_retention_days": "365", "event_retention_days": ""})
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.data_retention_days, project.event_retention_days) == (365, None)
    assert retention_entries(project) == [{"data_retention_days": [None, 365]}]
