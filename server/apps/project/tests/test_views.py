"""The project page: devices with their last report and status, variables, streams, and its forms."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from server.apps.core.testing import assert_query_count, make_member, make_org, make_user
from server.apps.device.models import Device
from server.apps.device.tests.factories import make_device, make_project, make_stream, make_variable
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.project.models import Project
from server.apps.streamer.models import ReportStatus, Streamer, StreamerReport


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def project_url(project, name: str = "detail", project_id: str | None = None) -> str:
    kwargs = {"org_slug": project.org.slug, "project_id": project_id or project.slug}
    return reverse(f"project:{name}", kwargs=kwargs)


def add_report(device, *, hours_ago: float) -> StreamerReport:
    streamer, _ = Streamer.objects.get_or_create(device=device, index=0, defaults={"slug": f"t--{device.gid}--0000"})
    sent = timezone.now() - timezone.timedelta(hours=hours_ago)
    return StreamerReport.objects.create(streamer=streamer, sent_timestamp=sent, status=ReportStatus.SUCCESS)


def test_project_page_shows_devices_with_last_report_and_status(db):
    project = make_project(name="North basin")
    fresh = make_device(project, label="Fresh pump")
    quiet = make_device(project, label="Quiet pump")
    make_device(project, label="New pump")
    add_report(fresh, hours_ago=0.2)
    add_report(quiet, hours_ago=30)
    add_report(quiet, hours_ago=5)

    response = logged_in(project.org.created_by).get(project_url(project))

    assert response.status_code == 200
    devices = {device.label: device for device in response.context["devices"]}
    assert devices["Fresh pump"].status.hint == "Reported 12 min ago"
    assert devices["Quiet pump"].status.hint == "No report for 5 h"
    assert devices["Quiet pump"].status.hint_tone == "warning"
    assert devices["New pump"].status.hint == "No report yet"
    body = response.content.decode()
    assert "North basin" in body
    assert "Fresh pump" in body
    assert reverse("device:detail", kwargs={"org_slug": project.org.slug, "device_slug": fresh.slug}) in body


def test_project_page_lists_variables_and_streams(db):
    project = make_project()
    device = make_device(project)
    variable = make_variable(project, lid=0x5001, name="Water level", units="m")
    stream = make_stream(device, variable)

    response = logged_in(project.org.created_by).get(project_url(project))

    assert [v.slug for v in response.context["variables"]] == [variable.slug]
    assert [s.slug for s in response.context["streams"]] == [stream.slug]
    assert "Water level" in response.content.decode()


def test_the_project_is_found_by_uuid_or_lenient_slug_in_its_org_only(db):
    project = make_project()
    client = logged_in(project.org.created_by)
    assert client.get(project_url(project, project_id=str(project.pk))).status_code == 200
    assert client.get(project_url(project, project_id=f"p--{project.gid:x}")).status_code == 200
    other = make_org(owner=project.org.created_by)
    wrong_org = reverse("project:detail", kwargs={"org_slug": other.slug, "project_id": project.slug})
    assert client.get(wrong_org).status_code == 404
    assert client.get(project_url(project, project_id="not-a-project")).status_code == 404


def test_other_orgs_get_404_on_every_project_url(db):
    project = make_project()
    outsider = make_user()
    make_org(owner=outsider)
    client = logged_in(outsider)
    assert client.get(project_url(project)).status_code == 404
    for name in ("edit", "delete", "claim"):
        assert client.post(project_url(project, name), {"name": "x", "device": "d--1"}).status_code == 404
    assert Project.objects.filter(pk=project.pk, name=project.name).exists()


@pytest.mark.parametrize("role", [MEMBER, OPERATOR])
def test_read_only_roles_see_no_controls_and_get_403(db, role):
    project = make_project(name="Kept")
    free = make_device()
    user = make_member(project.org, role)
    client = logged_in(user)

    response = client.get(project_url(project))
    assert response.status_code == 200
    assert "project_form" not in response.context
    assert "claim_form" not in response.context
    body = response.content.decode()
    assert 'data-testid="claim-form"' not in body
    assert "Edit project" not in body

    assert client.post(project_url(project, "edit"), {"name": "Changed"}).status_code == 403
    assert client.post(project_url(project, "delete")).status_code == 403
    assert client.post(project_url(project, "claim"), {"device": free.slug}).status_code == 403
    project.refresh_from_db()
    assert project.name == "Kept"
    assert Device.objects.get(pk=free.pk).project is None


def test_claiming_a_device(db):
    project = make_project()
    device = make_device()
    client = logged_in(project.org.created_by)

    short = f"d--{device.id:x}"
    response = client.post(project_url(project, "claim"), {"device": short})

    device.refresh_from_db()
    assert device.project == project
    assert device.org == project.org
    assert response["Location"] == reverse(
        "device:detail", kwargs={"org_slug": project.org.slug, "device_slug": device.slug}
    )


@pytest.mark.parametrize("value", ["d--zz", "d--ffff-ffff-ffff-ffff", ""])
def test_claim_errors_show_on_the_form(db, value):
    project = make_project()
    response = logged_in(project.org.created_by).post(project_url(project, "claim"), {"device": value})
    assert response.status_code == 200
    assert response.context["claim_form"].errors["device"]
    assert response.context["failed_form"] == "claim_form"


def test_a_claimed_device_of_another_org_is_not_revealed(db):
    theirs = make_device(make_project())
    missing = "d--0000-0000-00ff-fff0"
    project = make_project()
    client = logged_in(project.org.created_by)
    errors = [
        client.post(project_url(project, "claim"), {"device": value}).context["claim_form"].errors["device"]
        for value in (theirs.slug, missing)
    ]
    assert errors[0] == errors[1] == ["Unknown device, or claimed already."]


def test_editing_and_deleting_a_project(db):
    project = make_project(name="Old")
    org = project.org
    client = logged_in(org.created_by)
    assert client.post(project_url(project, "edit"), {"name": "New", "about": "x"}).status_code == 302
    project.refresh_from_db()
    assert (project.name, project.about) == ("New", "x")

    make_device(project)
    refused = client.post(project_url(project, "delete"), follow=True)
    assert "still has devices" in refused.content.decode()
    assert Project.objects.filter(pk=project.pk).exists()

    empty = make_project(org=org, name="Empty")
    response = client.post(project_url(empty, "delete"))
    assert response["Location"] == reverse("org:detail", kwargs={"org_slug": org.slug})
    assert not Project.objects.filter(pk=empty.pk).exists()


@pytest.mark.parametrize("rows", [1, 5])
def test_project_page_query_count_is_constant(db, rows):
    project = make_project()
    for number in range(rows):
        device = make_device(project)
        add_report(device, hours_ago=number)
        make_stream(device, lid=0x5001 + number)
    client = logged_in(project.org.created_by)
    # session, user, project, the user's role and permissions; devices with their last report, variables and
    # streams (count and page each); the health counts; data blocks (a count: there are none to page); the
    # latest retention run (the owner's Retention panel)
    with assert_query_count(13):
        response = client.get(project_url(project))
    assert response.context["devices"].paginator.count == rows


def test_the_settings_form_turns_stream_creation_off_and_on(db):
    project = make_project(name="Basin")
    client = logged_in(project.org.created_by)
    response = client.get(project_url(project))
    assert response.context["project_form"].initial["auto_create_streams"] is True
    body = response.content.decode()
    assert 'name="auto_create_streams"' in body
    assert "Create streams for new variables" in body

    # An unticked box is not sent.
    assert client.post(project_url(project, "edit"), {"name": "Basin", "about": ""}).status_code == 302
    project.refresh_from_db()
    assert project.auto_create_streams is False
    assert client.get(project_url(project)).context["project_form"].initial["auto_create_streams"] is False

    denied = logged_in(make_member(project.org, MEMBER))
    form = {"name": "Basin", "auto_create_streams": "on"}
    assert denied.post(project_url(project, "edit"), form).status_code == 403
    project.refresh_from_db()
    assert project.auto_create_streams is False

    assert client.post(project_url(project, "edit"), form).status_code == 302
    project.refresh_from_db()
    assert project.auto_create_streams is True
