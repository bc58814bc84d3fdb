"""The organisation's telemetry resources (``rawmessage/``, ``pd/``, ``ld/``, ``map/``, ``integration/``) through
the generic scoped-endpoint checks, plus the mapping routes the CLI uses (``map/end/``, ``map/toggle/``,
``ld/from-pd/``) and IoTa's read-only-token scenario."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from server.apps.core.testing import ScopedEndpointCases, api_client, make_member
from server.apps.device.tests.factories import make_project
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR, OWNER
from server.apps.telemetry.models import DeviceMapping, LogicalDevice, PhysicalDevice, RawMessage
from server.apps.telemetry.services.integrations import integration_create
from server.apps.telemetry.services.mapping import mapping_start
from server.apps.telemetry.tests.factories import make_logical, make_physical

_sequence = itertools.count(1)


def _project(org):
    return org.projects.first() or make_project(org)


class TestRawMessageEndpoint(ScopedEndpointCases):
    list_url = "/api/v1/rawmessage/"
    list_key = "correlation_id"
    list_query_count = 3
    read_role = MEMBER
    hidden_role = OPERATOR
    write_method = None
    denied_role = None

    def make_object(self, org):
        return RawMessage.objects.create(
            source="http",
            source_message_id=f"test-{next(_sequence)}",
            org=org,
            received_at=timezone.now(),
            body='{"a": 1}',
            status="unmapped",
        )

    def detail_url(self, obj) -> str:
        return f"/api/v1/rawmessage/{obj.correlation_id}/"


class TestPhysicalDeviceEndpoint(ScopedEndpointCases):
    list_url = "/api/v1/pd/"
    list_key = "uid"
    list_query_count = 4
    allowed_role = OWNER
    denied_role = OPERATOR
    created_model = PhysicalDevice
    stored_as = {
        "name": "device.label",
        "project": lambda physical: str(physical.device.project_id),
    }

    def make_object(self, org):
        return make_physical(_project(org), name=f"Sensor {next(_sequence)}", source_name="ttn")

    def list_key_value(self, obj) -> str:
        return str(obj.device_id)

    def detail_url(self, obj) -> str:
        return f"/api/v1/pd/{obj.device_id}/"

    def write_data(self, obj) -> dict:
        return {"name": "Renamed", "properties": {"vendor": "acme"}, "source_ids": {"dev_eui": "0011223344556677"}}

    def create_data(self, org) -> dict:
        n = next(_sequence)
        return {
            "project": str(_project(org).id),
            "name": f"New sensor {n}",
            "source_name": "ttn",
            "source_ids": {"dev_eui": f"{n:016x}"},
        }


class TestLogicalDeviceEndpoint(ScopedEndpointCases):
    list_url = "/api/v1/ld/"
    list_key = "uid"
    list_query_count = 5
    allowed_role = ADMIN
    denied_role = MEMBER
    created_model = LogicalDevice
    stored_as = {"project": lambda logical: str(logical.project_id)}

    def make_object(self, org):
        return make_logical(_project(org), name=f"Tank {next(_sequence)}")

    def list_key_value(self, obj) -> str:
        return str(obj.id)

    def detail_url(self, obj) -> str:
        return f"/api/v1/ld/{obj.id}/"

    def write_data(self, obj) -> dict:
        return {"name": "Renamed tank", "properties": {"capacity": 5000}}

    def create_data(self, org) -> dict:
        return {"name": "River gauge", "project": str(_project(org).id)}


class TestMappingEndpoint(ScopedEndpointCases):
    list_url = "/api/v1/map/"
    list_key = "id"
    list_query_count = 3
    allowed_role = OWNER
    denied_role = MEMBER
    write_method = None
    created_model = DeviceMapping
    stored_as = {"pd": "physical_device_id", "ld": "logical_device_id"}

    def make_object(self, org):
        project = _project(org)
        physical = make_physical(project, name=f"Sensor {next(_sequence)}")
        return mapping_start(user=org.created_by, physical=physical, logical=make_logical(project))

    def detail_url(self, obj) -> str:
        return f"/api/v1/map/{obj.id}/"

    def create_data(self, org) -> dict:
        project = _project(org)
        physical = make_physical(project, name=f"Sensor {next(_sequence)}")
        return {"pd": physical.pk, "ld": make_logical(project).pk}


class TestIntegrationEndpoint(ScopedEndpointCases):
    list_url = "/api/v1/integration/"
    list_key = "id"
    list_query_count = 3
    allowed_role = OWNER
    denied_role = None
    hidden_role = OPERATOR
    write_method = "delete"
    stored_as = {"project": lambda integration: str(integration.project_id)}

    def make_object(self, org):
        project = _project(org)
        return integration_create(user=org.created_by, project=project, name=f"TTS {next(_sequence)}")

    def detail_url(self, obj) -> str:
        return f"/api/v1/integration/{obj.id}/"

    def create_data(self, org) -> dict:
        return {"name": "Farm sensors", "project": str(_project(org).id)}


@pytest.mark.django_db
def test_the_cli_routes_map_end_toggle_and_copy_a_physical_device():
    project = make_project(name="Farm")
    client = api_client(project.org.created_by)
    physical = make_physical(project, name="Tank sensor", location={"lat": -33.1, "long": 148.2})
    copied = client.post("/api/v1/ld/from-pd/", {"pd": physical.pk, "map": True}, format="json")
    assert copied.status_code == 201, copied.content
    logical = copied.json()
    assert (logical["name"], logical["location"]) == ("Tank sensor", {"lat": -33.1, "long": 148.2})
    assert logical["mapping"]["pd"] == physical.pk
    paused = client.post("/api/v1/map/toggle/", {"ld": logical["uid"], "is_active": False}, format="json")
    assert paused.status_code == 200
    assert paused.json()["is_active"] is False
    assert DeviceMapping.objects.get().is_active is False
    ended = client.post("/api/v1/map/end/", {"pd": physical.pk}, format="json")
    assert ended.status_code == 200
    assert ended.json()["end"] is not None
    assert client.post("/api/v1/map/end/", {"pd": physical.pk}, format="json").status_code == 404
    history = client.get("/api/v1/map/", {"pd": physical.pk}).json()["results"]
    assert [entry["action"] for entry in history[0]["history"]] == ["start", "pause", "end"]
    assert client.get("/api/v1/map/", {"pd": physical.pk, "current": "true"}).json()["count"] == 0
    unmapped = client.get("/api/v1/pd/", {"unmapped": "true"}).json()["results"]
    assert [item["uid"] for item in unmapped] == [physical.pk]
    # IoTa's rules: a duplicate start or an unknown id is a 400.
    started = client.post("/api/v1/map/", {"pd": physical.pk, "ld": logical["uid"]}, format="json")
    assert started.status_code == 201
    again = client.post("/api/v1/map/", {"pd": physical.pk, "ld": logical["uid"]}, format="json")
    assert again.status_code == 400
    assert client.post("/api/v1/map/", {"pd": 999999, "ld": logical["uid"]}, format="json").status_code == 400


@pytest.mark.django_db
def test_a_read_only_member_reads_but_may_not_write():
    project = make_project(name="Farm")
    physical = make_physical(project, name="Sensor")
    reader = api_client(make_member(project.org, role=OPERATOR))
    assert reader.get(f"/api/v1/pd/{physical.pk}/").status_code == 200
    assert reader.get("/api/v1/ld/").status_code == 200
    body = {"name": "Tank", "project": str(project.id)}
    assert reader.post("/api/v1/ld/", body, format="json").status_code == 403
    assert reader.patch(f"/api/v1/pd/{physical.pk}/", {"name": "x"}, format="json").status_code == 403
    assert not LogicalDevice.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("lat", "90.5"), ("lat", "-91"), ("lon", "180.000000001"), ("lon", "-200")]
)
def test_a_logical_devices_position_off_the_globe_is_refused_by_the_model(db, field, value):
    logical = make_logical(make_project())
    setattr(logical, field, Decimal(value))
    with pytest.raises(ValidationError) as refused:
        logical.full_clean()
    assert set(refused.value.message_dict) == {field}


def test_a_logical_devices_position_on_the_globe_is_valid(db):
    logical = make_logical(make_project())
    logical.lat, logical.lon = Decimal("-90"), Decimal("180")
    logical.full_clean()
