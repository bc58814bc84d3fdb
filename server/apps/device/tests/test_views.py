"""The device page: details, status, streams with their latest values, report history, edit and unclaim."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from server.apps.core.testing import assert_query_count, make_member, make_org, make_user
from server.apps.device.models import Device, DeviceState
from server.apps.device.selectors import stream_latest_data
from server.apps.device.tests.factories import T0, add_data, make_device, make_project, make_stream
from server.apps.device.views import device_status
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.sensorgraph.services import sensorgraph_create
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData
from server.apps.streamer.models import ReportStatus, Streamer, StreamerReport


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def device_url(device, name: str = "detail", slug: str | None = None, org=None, kwargs=None) -> str:
    org = org or device.org
    kwargs = {"org_slug": org.slug, "device_slug": slug or device.slug, **(kwargs or {})}
    return reverse(f"device:{name}", kwargs=kwargs)


def add_report(device, *, status=ReportStatus.SUCCESS, error: str = "", ago=timedelta(minutes=5)) -> StreamerReport:
    streamer, _ = Streamer.objects.get_or_create(device=device, index=0, defaults={"slug": f"t--{device.gid}--0000"})
    return StreamerReport.objects.create(
        streamer=streamer,
        sent_timestamp=timezone.now() - ago,
        status=status,
        error=error,
        reading_count=12,
        new_reading_count=10,
        duplicate_reading_count=2,
        file_name="report.bin",
        file_size=1234,
    )


@pytest.fixture
def device(db):
    return make_device(make_project(name="North basin"), label="Pump 7", external_id="A-7")


def test_device_page_shows_details_status_and_history(device):
    add_report(device, status=ReportStatus.FAILED, error="report.bin: bad signature")
    add_report(device, ago=timedelta(minutes=1))

    response = logged_in(device.org.created_by).get(device_url(device))

    assert response.status_code == 200
    body = response.content.decode()
    for text in ("Pump 7", "A-7", "North basin", device.slug, "bad signature", "Processed", "Failed", "1.2 kB"):
        assert text in body
    assert response.context["status"].hint == "Reported 1 min ago"
    assert len(response.context["reports"]) == 2


def test_streams_show_their_latest_values(device):
    level = make_stream(device, lid=0x5001)
    empty = make_stream(device, lid=0x5002)
    add_data(level, 5)  # values 0..4, one minute apart from T0
    other = make_stream(make_device(device.project), lid=0x5001)
    add_data(other, 3, start=T0 + timedelta(days=1))

    response = logged_in(device.org.created_by).get(device_url(device))

    streams = {stream.slug: stream for stream in response.context["streams"]}
    assert streams[level.slug].latest_value == 4.0
    assert streams[level.slug].latest_time == T0 + timedelta(minutes=4)
    assert streams[empty.slug].latest_value is None
    assert other.slug not in streams
    assert reverse("stream:detail", kwargs={"org_slug": device.org.slug, "stream_slug": level.slug}) in (
        response.content.decode()
    )


def test_latest_data_is_one_query_that_skips_rows_without_time(db):
    device = make_device(make_project())
    a, b, c = (make_stream(device, lid=lid) for lid in (0x5001, 0x5002, 0x5003))
    StreamData.objects.bulk_create(
        [
            StreamData(series=a.series, timestamp=T0, value=1),
            StreamData(series=a.series, timestamp=T0 + timedelta(hours=1), value=2),
            StreamData(series=a.series, timestamp=None, value=99),
            StreamData(series=b.series, timestamp=T0, value=7),
        ]
    )
    with assert_query_count(1, using="streamdata"):
        latest = stream_latest_data(streams=[a, b, c])
    assert {slug: row.value for slug, row in latest.items()} == {a.slug: 2, b.slug: 7}
    assert stream_latest_data(streams=[]) == {}


def test_operators_see_streams_but_not_their_values(device):
    stream = make_stream(device)
    add_data(stream, 2)
    operator = make_member(device.org, OPERATOR)
    response = logged_in(operator).get(device_url(device))
    assert [s.slug for s in response.context["streams"]] == [stream.slug]
    assert response.context["streams"][0].latest_value is None
    assert "does not show data values" in response.content.decode()


def test_a_lenient_slug_redirects_to_the_canonical_page(device):
    client = logged_in(device.org.created_by)
    response = client.get(device_url(device, slug=f"d--{device.id:X}"))
    assert response.status_code == 302
    assert response["Location"] == device_url(device)
    assert client.get(device_url(device, slug=str(device.id))).status_code == 302
    assert client.get(device_url(device, slug="d--not-hex")).status_code == 404


def test_other_orgs_and_wrong_org_urls_are_404(device):
    outsider = make_user()
    other = make_org(owner=outsider)
    client = logged_in(outsider)
    for name in ("detail", "reports"):
        assert client.get(device_url(device, name)).status_code == 404
    for name in ("edit", "unclaim"):
        assert client.post(device_url(device, name), {"label": "Mine"}).status_code == 404
    # The owner, with the device under another organisation's slug.
    assert logged_in(device.org.created_by).get(device_url(device, org=other)).status_code == 404
    device.refresh_from_db()
    assert (device.label, device.project_id is not None) == ("Pump 7", True)


@pytest.mark.parametrize("role", [OPERATOR])
def test_read_only_roles_get_no_controls_and_403(device, role):
    user = make_member(device.org, role)
    client = logged_in(user)
    response = client.get(device_url(device))
    assert "device_form" not in response.context
    assert "unclaim_form" not in response.context
    body = response.content.decode()
    assert 'data-testid="device-form"' not in body
    assert 'data-testid="unclaim-form"' not in body
    assert client.post(device_url(device, "edit"), {"label": "Changed", "active": "on"}).status_code == 403
    assert client.post(device_url(device, "unclaim")).status_code == 403
    device.refresh_from_db()
    assert device.label == "Pump 7"
    assert device.project_id is not None


def test_members_may_edit_but_not_unclaim(device):
    member = make_member(device.org, MEMBER)
    client = logged_in(member)
    response = client.get(device_url(device))
    assert "device_form" in response.context
    assert "unclaim_form" not in response.context
    assert client.post(device_url(device, "unclaim")).status_code == 403


def test_editing_a_device(device):
    sg = sensorgraph_create(created_by=make_user(is_staff=True), name="Water meter", major_version=1)
    client = logged_in(device.org.created_by)
    response = client.post(
        device_url(device, "edit"),
        {"label": "Pump 8", "external_id": "B-8", "lat": "51.5", "lon": "-0.12", "sg": sg.slug},
    )
    assert response["Location"] == device_url(device)
    device.refresh_from_db()
    assert (device.label, device.external_id, float(device.lat), float(device.lon)) == ("Pump 8", "B-8", 51.5, -0.12)
    assert device.sg == sg
    assert not device.active


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lat": "95"}, "lat"),
        ({"lat": "-90.5"}, "lat"),
        ({"lon": "181"}, "lon"),
        ({"lon": "abc"}, "lon"),
        ({"sg": "no-such-graph"}, "sg"),
    ],
)
def test_edit_errors_show_on_the_form(device, data, field):
    response = logged_in(device.org.created_by).post(device_url(device, "edit"), {"label": "x", **data})
    assert response.status_code == 200
    assert field in response.context["device_form"].errors
    device.refresh_from_db()
    assert (device.label, device.lat, device.lon) == ("Pump 7", None, None)


def test_unclaiming_keeps_or_deletes_the_data(device):
    stream = make_stream(device)
    add_data(stream, 3)
    project = device.project
    client = logged_in(device.org.created_by)

    response = client.post(device_url(device, "unclaim"))
    assert response["Location"] == reverse(
        "project:detail", kwargs={"org_slug": project.org.slug, "project_id": project.slug}
    )
    device.refresh_from_db()
    assert device.project is None
    assert device.org is None
    assert StreamData.objects.filter(series=stream.series).count() == 3

    other = make_device(project)
    other_stream = make_stream(other)
    add_data(other_stream, 3)
    client.post(device_url(other, "unclaim"), {"clean_streams": "on"})
    assert not StreamData.objects.filter(series=other_stream.series).exists()
    assert not StreamId.objects.filter(pk=other_stream.pk).exists()


def test_a_busy_device_is_not_unclaimed(device):
    Device.objects.filter(pk=device.pk).update(state=DeviceState.ARCHIVING)
    response = logged_in(device.org.created_by).post(device_url(device, "unclaim"))
    assert response.status_code == 200
    assert "busy" in str(response.context["unclaim_form"].non_field_errors())
    device.refresh_from_db()
    assert device.project_id is not None


def test_the_report_history_fragment_is_paged(device):
    for minutes in range(12):
        add_report(device, ago=timedelta(minutes=minutes))
    client = logged_in(device.org.created_by)
    response = client.get(device_url(device, "reports"))
    assert response.status_code == 200
    assert len(response.context["reports"]) == 10
    assert "<html" not in response.content.decode()
    assert len(client.get(device_url(device, "reports") + "?reports=2").context["reports"]) == 2


def test_status_hints(device):
    now = timezone.now()
    device.last_report = now - timedelta(hours=3)
    assert device_status(device, now).hint == "No report for 3 h"
    device.last_report = now - timedelta(days=4)
    assert device_status(device, now).hint == "No report for 4 days"
    device.last_report = now - timedelta(seconds=20)
    assert device_status(device, now).hint == "Reported just now"
    device.active = False
    device.last_report = now - timedelta(days=4)
    status = device_status(device, now)
    assert (status.label, status.hint) == ("Inactive", "Reported 4 days ago")
    device.state = DeviceState.RESETTING
    assert device_status(device, now).label == "Resetting"


@pytest.mark.parametrize("rows", [1, 5])
def test_device_page_query_count_is_constant(device, rows):
    for number in range(rows):
        stream = make_stream(device, lid=0x5001 + number)
        add_data(stream, 3)
        add_report(device, ago=timedelta(minutes=number))
    client = logged_in(device.org.created_by)
    # session, user, device with its last report, the user's role and permissions, streams (count, page), reports
    # (count, page), streamers, the aliases reading its streams, its latest data blocks, its downloadable keys, the
    # edit form's sensor graphs; and one query for the latest values on the streamdata database
    with assert_query_count(13), assert_query_count(1, using="streamdata"):
        response = client.get(device_url(device))
    assert response.context["streams"].paginator.count == rows


# Replacing a device, its aliases and blocks on the page, its keys ------------------------------------------------


def test_replacing_a_device_is_one_form(device):
    from server.apps.streamalias.models import StreamAlias

    stream = make_stream(device, lid=0x5001)
    add_data(stream, 5)
    owner = device.org.created_by
    page = logged_in(owner).get(device_url(device))
    assert page.context["replace_form"] is not None
    new = make_device()
    swap = T0 + timedelta(minutes=3)
    response = logged_in(owner).post(
        device_url(device, "replace"), {"new_device": new.slug, "timestamp": swap.strftime("%Y-%m-%dT%H:%M:%S")}
    )
    new = Device.objects.get(pk=new.pk)
    assert response.status_code == 302
    assert response.url == device_url(new)
    alias = StreamAlias.objects.get(org=device.org)
    assert new.project_id == device.project_id
    assert new.label == "Pump 7"
    assert not Device.objects.get(pk=device.pk).active
    # Both pages say their stream continues as the alias.
    for each in (device, new):
        content = logged_in(owner).get(device_url(each)).content.decode()
        assert "continues as alias" in content
        assert alias.slug in content
    # Replacing again with a time not after the swap is refused on the form, and nothing changes.
    other = make_device()
    response = logged_in(owner).post(
        device_url(new, "replace"), {"new_device": other.slug, "timestamp": "2026-01-01T00:01:00"}
    )
    assert response.status_code == 200
    assert response.context["replace_form"].errors["timestamp"]
    assert Device.objects.get(pk=other.pk).project_id is None


def test_replace_errors_and_roles(device):
    owner = device.org.created_by
    response = logged_in(owner).post(
        device_url(device, "replace"), {"new_device": device.slug, "timestamp": "2026-02-01"}
    )
    assert response.status_code == 200
    assert response.context["replace_form"].errors["new_device"]
    response = logged_in(owner).post(device_url(device, "replace"), {"new_device": "d--zz", "timestamp": "2026-02-01"})
    assert response.context["replace_form"].errors["new_device"]
    # Members may modify devices but not manage aliases: no button, and the service refuses.
    member = logged_in(make_member(device.org, MEMBER))
    assert "replace_form" not in member.get(device_url(device)).context
    new = make_device()
    response = member.post(device_url(device, "replace"), {"new_device": new.slug, "timestamp": "2026-02-01"})
    assert response.status_code == 200
    assert "may not replace" in response.content.decode()
    operator = logged_in(make_member(device.org, OPERATOR))
    assert (
        operator.post(device_url(device, "replace"), {"new_device": new.slug, "timestamp": "2026-02-01"}).status_code
        == 403
    )
    outsider = logged_in(make_org().created_by)
    assert (
        outsider.post(device_url(device, "replace"), {"new_device": new.slug, "timestamp": "2026-02-01"}).status_code
        == 404
    )
    assert Device.objects.get(pk=new.pk).project_id is None


def test_downloadable_keys_and_the_token_card(device):
    from server.apps.deviceauth.services import device_key_set

    staff = make_user(is_staff=True)
    device_key_set(device=device, type="USR", secret="ab" * 32, created_by=staff, downloadable=True)
    device_key_set(device=device, type="SSH", secret="ssh-ed25519 AAAA", created_by=staff)
    owner = logged_in(device.org.created_by)
    page = owner.get(device_url(device))
    assert page.context["keys"] == [("usr", "User key (signs and encrypts reports, flag 1)")]
    assert page.context["token_url"] == f"/api/v1/device/{device.slug}/key/?type=a-jwt"
    response = owner.get(device_url(device, "key-download", kwargs={"key_type": "usr"}))
    assert response.status_code == 200
    assert response.content.decode().strip() == "ab" * 32
    assert "attachment" in response["Content-Disposition"]
    assert owner.get(device_url(device, "key-download", kwargs={"key_type": "ssh"})).status_code == 404
    assert owner.get(device_url(device, "key-download", kwargs={"key_type": "nope"})).status_code == 404
    assert logged_in(staff).get(device_url(device, "key-download", kwargs={"key_type": "ssh"})).status_code == 200
    operator = logged_in(make_member(device.org, OPERATOR))
    assert "token_url" not in operator.get(device_url(device)).context
    assert operator.get(device_url(device, "key-download", kwargs={"key_type": "usr"})).status_code == 403
    assert (
        logged_in(make_org().created_by).get(device_url(device, "key-download", kwargs={"key_type": "usr"})).status_code
        == 404
    )
    # The token the card fetches comes from the API with the page's session.
    token = owner.get(page.context["token_url"], HTTP_ACCEPT="application/json")
    assert token.status_code == 200
    assert token.json()["type"] == "a-jwt"
