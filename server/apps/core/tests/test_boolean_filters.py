"""Every boolean query-string filter reads true/false (1/0, any case) and answers 400 to anything else, instead of
django-filter's boolean filter, which reads ``?active=maybe`` as no filter at all."""

from __future__ import annotations

import django_filters
import pytest

from server.apps.core.lookups import StrictBooleanFilter
from server.apps.core.testing import api_client, loose_filters, make_user
from server.apps.device.filtersets import DeviceFilterSet
from server.apps.device.tests.factories import make_device, make_project
from server.apps.fleet.filtersets import FleetFilterSet
from server.apps.forwarding.filtersets import DestinationFilterSet
from server.apps.org.filtersets import InvitationFilterSet, OrgMembershipFilterSet
from server.apps.ota.filtersets import DeviceScriptFilterSet
from server.apps.property.filtersets import GenericPropertyFilterSet
from server.apps.stream.filtersets import StreamFilterSet
from server.apps.streamer.filtersets import StreamerFilterSet
from server.apps.streamfilter.filtersets import StreamFilterFilterSet
from server.apps.telemetry.filtersets import DeviceMappingFilterSet, PhysicalDeviceFilterSet

FILTERSETS = [
    DeviceFilterSet,
    FleetFilterSet,
    DestinationFilterSet,
    OrgMembershipFilterSet,
    InvitationFilterSet,
    DeviceScriptFilterSet,
    GenericPropertyFilterSet,
    StreamFilterSet,
    StreamerFilterSet,
    StreamFilterFilterSet,
    PhysicalDeviceFilterSet,
    DeviceMappingFilterSet,
]
BOOLEANS = [
    (filterset, name)
    for filterset in FILTERSETS
    for name, declared in filterset.base_filters.items()
    if isinstance(declared, StrictBooleanFilter)
]


def test_every_boolean_filter_of_the_api_is_strict():
    assert loose_filters(django_filters.BooleanFilter, StrictBooleanFilter) == []


@pytest.mark.parametrize(("filterset", "name"), BOOLEANS, ids=[f"{fs.__name__}.{name}" for fs, name in BOOLEANS])
@pytest.mark.parametrize("value", ["maybe", "yes", "2", "truee", "on"])
def test_a_bad_value_is_invalid_and_named(filterset, name, value):
    found = filterset(data={name: value}, queryset=filterset._meta.model.objects.none())
    assert not found.is_valid()
    assert list(found.errors) == [name]


@pytest.mark.parametrize(("filterset", "name"), BOOLEANS, ids=[f"{fs.__name__}.{name}" for fs, name in BOOLEANS])
def test_true_false_one_zero_and_empty_are_read(filterset, name):
    for value, expected in (("true", True), ("False", False), ("1", True), ("0", False), ("", None)):
        found = filterset(data={name: value}, queryset=filterset._meta.model.objects.none())
        assert found.is_valid(), found.errors
        assert found.form.cleaned_data[name] is expected


def test_the_device_list_answers_400_to_a_bad_boolean_and_filters_on_a_good_one(db):
    project = make_project()
    device = make_device(project)
    loose = make_device()
    client = api_client(make_user(is_staff=True))
    response = client.get("/api/v1/device/", {"claimed": "maybe"})
    assert response.status_code == 400
    assert "claimed" in response.json()
    claimed = client.get("/api/v1/device/", {"claimed": "true"}).json()["results"]
    unclaimed = client.get("/api/v1/device/", {"claimed": "0"}).json()["results"]
    assert [row["slug"] for row in claimed] == [device.slug]
    assert [row["slug"] for row in unclaimed] == [loose.slug]
