from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from server.apps.core.errors import ApplicationError, PermissionDeniedError
from server.apps.core.testing import make_member, make_org
from server.apps.device.models import Device, DeviceState
from server.apps.device.services import (
    device_claim,
    device_claimable,
    device_create,
    device_unclaim,
    device_update,
)
from server.apps.device.tests.factories import (
    add_data,
    make_device,
    make_project,
    make_staff,
    make_stream,
    make_variable,
)
from server.apps.org.roles import MEMBER
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData


def test_device_slug_matches_its_id_and_ids_skip_explicit_serial_numbers(db):
    staff = make_staff()
    explicit = device_create(created_by=staff, id=0x20)
    assert explicit.slug == "d--0000-0000-0000-0020"
    following = [device_create(created_by=staff) for _ in range(3)]
    assert all(device.id > 0x20 for device in following)
    assert len({device.id for device in following}) == 3
    for device in following:
        assert device.slug == f"d--0000-0000-0000-{device.id:04x}"


def test_only_staff_create_devices(db):
    with pytest.raises(PermissionDeniedError):
        device_create(created_by=make_org().created_by)


def test_claim_and_unclaim_with_clean_streams_removes_rows_in_streamdata(db):
    project = make_project()
    owner = project.org.created_by
    device = make_device()
    claimed = device_claim(user=owner, device=device.slug, project=project)
    assert (claimed.project, claimed.org, claimed.claimed_by) == (project, project.org, owner)
    assert claimed.state == DeviceState.ACTIVE
    stream = make_stream(claimed)
    add_data(stream, 5)

    deleted = device_unclaim(device=claimed, clean_streams=True)
    assert deleted == 5
    assert StreamData.objects.filter(series=stream.series).count() == 0
    assert not StreamId.objects.filter(device=device).exists()
    device.refresh_from_db()
    assert device.project is None
    assert device.org is None
    # It can be claimed again, by anyone allowed to.
    other = make_project()
    assert device_claim(user=other.org.created_by, device=device.id, project=other).project == other


def test_unclaim_without_cleaning_keeps_streams_and_data(db):
    project = make_project()
    device = make_device(project)
    stream = make_stream(device)
    add_data(stream, 2)
    assert device_unclaim(device=device, label="spare") == 0
    assert StreamId.objects.filter(pk=stream.pk).exists()
    assert StreamData.objects.filter(series=stream.series).count() == 2


def test_claim_refuses_claimed_busy_or_unknown_devices_and_needs_the_permission(db):
    project = make_project()
    owner = project.org.created_by
    taken = make_device(make_project())
    busy = make_device()
    Device.objects.filter(pk=busy.pk).update(state=DeviceState.RESETTING)
    for value in (taken.slug, busy.slug, "d--0000-0000-0fff-ffff"):
        with pytest.raises(ApplicationError) as error:
            device_claim(user=owner, device=value, project=project)
        assert error.value.status_code == 400
    member = make_member(project.org, MEMBER)
    with pytest.raises(PermissionDeniedError):
        device_claim(user=member, device=make_device().slug, project=project)


def test_claim_creates_streams_for_the_project_variables(db):
    project = make_project()
    make_variable(project, lid=0x5001)
    make_variable(project, lid=0x5002)
    device = make_device(project)
    slugs = sorted(StreamId.objects.filter(device=device).values_list("slug", flat=True))
    assert slugs == [f"s--{project.slug[3:]}--{device.slug[3:]}--{lid}" for lid in ("5001", "5002")]


def test_claimable(db):
    free, taken = make_device(), make_device(make_project())
    results = device_claimable(slugs=[free.slug, taken.id, "d--zz"])
    assert [entry["claimable"] for entry in results] == [True, False, False]
    assert results[1]["slug"] == taken.slug
    with pytest.raises(ApplicationError):
        device_claimable(slugs=["d--1"] * 1001)


def test_template_changes_need_staff_mode(db):
    device = make_device()
    staff = make_staff()
    with pytest.raises(ApplicationError):
        device_update(device=device, user=staff, template="")
    device_update(device=device, user=staff, staff_mode=True, template="")
    with pytest.raises(PermissionDeniedError):
        device_update(device=device, user=make_org().created_by, staff_mode=True, template="")


@pytest.mark.parametrize(
    ("field", "value"), [("lat", "90.5"), ("lat", "-91"), ("lon", "180.000000001"), ("lon", "-181")]
)
def test_a_position_off_the_globe_is_refused_by_the_model(field, value, db):
    """Whatever the edge (API, dashboard, telemetry's pd/), the service's full_clean keeps a device on the globe."""
    device = make_device(make_project())
    with pytest.raises(ValidationError) as refused:
        device_update(device=device, user=make_staff(), label="moved", **{field: Decimal(value)})
    assert list(refused.value.message_dict) == [field]
    device.refresh_from_db()
    assert (device.label, device.lat, device.lon) == ("", None, None)
