"""The filters pages: what each role sees and may do, a filter written as text through the form, bad text as
form errors, other organisations' filters and alerts as 404s, and the pages' pinned query counts."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from server.apps.core.testing import make_member
from server.apps.device.tests.factories import make_device, make_project, make_stream, make_variable
from server.apps.org.roles import OPERATOR
from server.apps.streamfilter.models import AlertStatus, StreamFilter, StreamFilterAlert
from server.apps.streamfilter.tests.factories import make_filter


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def setup_project():
    project = make_project()
    variable = make_variable(project, lid=0x5001)
    return project, variable


def base(project) -> str:
    return f"/org/{project.org.slug}/project/{project.id}/"


def raise_alert(stream_filter, n: int) -> StreamFilterAlert:
    return StreamFilterAlert.objects.create(
        filter=stream_filter,
        filter_name=stream_filter.name,
        org=stream_filter.org,
        project=stream_filter.project,
        series=1,
        stream_slug="s--0000-0001--0000-0000-0000-0001--5001",
        src="normal",
        dst="high",
        value=40.0,
        timestamp=timezone.now(),
        streamer_local_id=n,
    )


def test_a_filter_written_as_text_is_saved_as_its_machine(db):
    project, variable = setup_project()
    output = make_stream(make_device(project), lid=0x5100)
    body = {
        "name": "Hot",
        "variable": variable.slug,
        "initial_state": "normal",
        "states": f"normal\nhigh | email: a@example.com, b@example.com | note: Too hot | derived: {output.slug} = 2",
        "transitions": "normal -> high: gt 30 ± 1 and lt 1000\nhigh -> normal: lte 29.5 +- 0.5",
        "active": "on",
    }
    response = client_for(project.org.created_by).post(f"{base(project)}filters/new/", body)
    assert response.status_code == 302, response.content
    stream_filter = StreamFilter.objects.get()
    high = stream_filter.states.get(label="high")
    assert [(a.type, a.recipients, a.note, a.output_stream_id, a.output_value) for a in high.actions.all()] == [
        ("eml", "a@example.com\nb@example.com", "", None, None),
        ("note", "", "Too hot", None, None),
        ("drv", "", "", output.id, 2.0),
    ]
    triggers = [
        (t.src.label, g.operator, g.threshold, g.deadband)
        for t in stream_filter.transitions.all()
        for g in t.triggers.all()
    ]
    assert triggers == [
        ("normal", "gt", 30.0, 1.0),
        ("normal", "lt", 1000.0, 0.0),
        ("high", "lte", 29.5, 0.5),
    ]
    # The filter's page gives the same text back for editing.
    page = client_for(project.org.created_by).get(response["Location"]).content.decode()
    assert "normal -&gt; high: gt 30 ± 1 and lt 1000" in page


def test_bad_text_is_a_form_error_and_saves_nothing(db):
    project, variable = setup_project()
    client = client_for(project.org.created_by)
    for states, transitions in [
        ("normal\nhigh | pager: 123", ""),
        ("normal\nhigh", "normal => high"),
        ("normal\nhigh", "normal -> high: above 3"),
        ("normal\nhigh", "normal -> nowhere: gt 3"),
        ("normal\nhigh | derived: s--0000-0fff--0000-0000-0000-0001--5001", ""),
    ]:
        body = {"name": "Hot", "variable": variable.slug, "initial_state": "normal", "states": states}
        response = client.post(f"{base(project)}filters/new/", {**body, "transitions": transitions})
        assert response.status_code == 200
        assert "is-invalid" in response.content.decode() or "alert-danger" in response.content.decode()
    assert not StreamFilter.objects.exists()


def test_roles_and_other_organisations(db):
    project, variable = setup_project()
    stream_filter = make_filter(project, variable)
    alert = raise_alert(stream_filter, 1)
    operator = make_member(project.org, OPERATOR)
    page = client_for(operator).get(f"{base(project)}filters/").content.decode()
    assert "Too hot" in page
    assert 'data-testid="filter-form"' not in page
    body = {"name": "x", "variable": variable.slug, "initial_state": "normal", "states": "normal"}
    assert client_for(operator).post(f"{base(project)}filters/new/", body).status_code == 403
    assert client_for(operator).post(f"{base(project)}filters/{stream_filter.id}/edit/", body).status_code == 403
    outsider = make_project().org.created_by
    for url in (f"{base(project)}filters/", f"{base(project)}filters/{stream_filter.id}/"):
        assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).post(f"{base(project)}alerts/{alert.id}/clear/").status_code == 404
    # The alert of one project cannot be reached through another project's URL.
    other = make_project(project.org)
    assert client_for(project.org.created_by).post(f"{base(other)}alerts/{alert.id}/clear/").status_code == 404
    assert StreamFilterAlert.objects.get(pk=alert.pk).status == AlertStatus.ACTIVE
    response = client_for(operator).post(f"{base(project)}alerts/{alert.id}/clear/")
    assert response.status_code == 302
    assert StreamFilterAlert.objects.get(pk=alert.pk).status == AlertStatus.CLEARED
    # Acknowledging a cleared alert says why, on the filters page.
    response = client_for(operator).post(f"{base(project)}alerts/{alert.id}/acknowledge/", follow=True)
    assert "cleared already" in response.content.decode()


def test_query_counts_do_not_grow_with_filters_and_alerts(db):
    project, variable = setup_project()
    owner = project.org.created_by
    client = client_for(owner)
    stream_filter = make_filter(project, variable)
    raise_alert(stream_filter, 1)
    client.get(f"{base(project)}filters/")  # the session and the site's one-off reads
    counts = []
    for n in range(2, 6):
        make_filter(project, variable, name=f"Filter {n}")
        raise_alert(stream_filter, n)
        with CaptureQueriesContext(connection) as context:
            assert client.get(f"{base(project)}filters/").status_code == 200
        counts.append(len(context.captured_queries))
    assert len(set(counts)) == 1, counts
