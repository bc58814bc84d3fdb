from __future__ import annotations

import csv
import importlib
import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client

from server.apps.audit.models import AuditEntry
from server.apps.core.testing import ScopedEndpointCases, api_client, assert_query_count, make_member, make_org
from server.apps.device.models import Device
from server.apps.device.tests.factories import make_device, make_project
from server.apps.deviceauth.models import DeviceKey
from server.apps.fleet.tests.factories import make_fleet
from server.apps.operation.models import DeviceOperation, OperationStatus
from server.apps.operation.tests.factories import device_client, make_operation
from server.apps.org.models import Org
from server.apps.org.roles import ADMIN, OWNER

AUDIT = "/api/v1/audit/"


def entries_for(obj) -> list[AuditEntry]:
    content_type = ContentType.objects.get_for_model(obj)
    return list(AuditEntry.objects.filter(content_type=content_type, object_pk=str(obj.pk)).order_by("id"))


class TestAuditEndpoint(ScopedEndpointCases):
    list_url = AUDIT
    list_key = "id"
    list_query_count = 3  # authentication, count, page
    write_method = None
    allowed_role = OWNER
    denied_role = None
    hidden_role = ADMIN

    def make_object(self, org):
        return entries_for(make_fleet(org))[-1]

    def detail_url(self, obj) -> str:
        return f"{AUDIT}{obj.id}/"

    def list_params(self, obj) -> dict:
        return {"model": "fleet.fleet"}


@pytest.fixture
def org(db):
    return make_org()


@pytest.fixture
def device(org):
    return make_device(make_project(org), label="Pump")


def test_an_api_change_is_one_entry_with_before_and_after(org, device):
    owner = org.created_by
    before = set(AuditEntry.objects.values_list("id", flat=True))
    response = api_client(owner).patch(f"/api/v1/device/{device.slug}/", {"label": "Tank"}, format="json")
    assert response.status_code == 200, response.content
    [entry] = AuditEntry.objects.exclude(id__in=before)
    assert entry.changes == {"label": ["Pump", "Tank"]}
    assert (entry.actor_id, entry.actor_device_id, entry.org_id) == (owner.pk, None, org.pk)
    assert entry.object_repr == device.slug


def test_a_dashboard_change_is_one_entry_with_before_and_after(org):
    owner = org.created_by
    client = Client()
    client.force_login(owner)
    before = set(AuditEntry.objects.values_list("id", flat=True))
    response = client.post(f"/org/{org.slug}/edit/", {"name": "Renamed Org", "about": "Fields"})
    assert response.status_code == 302
    [entry] = AuditEntry.objects.exclude(id__in=before)
    assert entry.content_type.model_class() is Org
    assert entry.changes == {"name": [org.name, "Renamed Org"], "about": ["", "Fields"]}
    assert (entry.actor_id, entry.org_id, entry.action) == (owner.pk, org.pk, AuditEntry.Action.UPDATE)


def test_a_device_token_change_is_one_entry_naming_the_device(org, device):
    operation = make_operation(device)
    client = device_client(device)  # issuing the token makes the device's a-jwt key: an entry of its own
    before = set(AuditEntry.objects.values_list("id", flat=True))
    reply = {"operationId": str(operation.id), "type": "RESP", "status": "SUCCESS", "value": {"apps": 3}}
    response = client.post("/api/v1/operation/reply/", reply, format="json")
    assert response.status_code == 200, response.content
    [entry] = AuditEntry.objects.exclude(id__in=before)
    assert entry.content_type.model_class() is DeviceOperation
    assert entry.object_pk == str(operation.id)
    assert entry.changes["status"] == [OperationStatus.PENDING.value, OperationStatus.SUCCEEDED.value]
    assert (entry.actor_device_id, entry.actor_id, entry.org_id) == (device.pk, org.created_by.pk, org.pk)
    # The same reply again changes nothing and records nothing.
    client.post("/api/v1/operation/reply/", reply, format="json")
    assert AuditEntry.objects.exclude(id__in=before).count() == 1


def test_device_keys_are_recorded_with_their_secret_masked(org, device):
    device_client(device)
    [key] = DeviceKey.objects.filter(device=device)
    [created] = entries_for(key)
    assert created.action == AuditEntry.Action.CREATE
    assert created.org_id == org.pk
    assert key.secret not in str(created.changes)


def test_filters_select_by_object_actor_device_and_time(org, device):
    owner = org.created_by
    client = api_client(owner)
    client.patch(f"/api/v1/device/{device.slug}/", {"label": "Tank"}, format="json")
    rows = client.get(AUDIT, {"model": "device.device", "object": device.slug, "action": "update"}).json()
    # The newest first: the label change, then the claim.
    assert rows["results"][0]["changes"] == {"label": ["Pump", "Tank"]}
    assert rows["count"] == 2
    assert rows["results"][0]["actor"] == owner.username
    assert client.get(AUDIT, {"actor": "nobody"}).json()["count"] == 0
    later = AuditEntry.objects.latest("timestamp").timestamp.isoformat()
    assert client.get(AUDIT, {"since": later, "model": "device.device", "action": "update"}).json()["count"] == 1
    assert client.get(AUDIT, {"until": later, "model": "device.device", "action": "update"}).json()["count"] == 1
    assert client.get(AUDIT, {"device": device.slug}).json()["count"] == 0


@pytest.mark.parametrize(
    "params", [{"since": "yesterday"}, {"device": "d--nonsense"}, {"action": "explode"}, {"until": "\x00"}]
)
def test_malformed_filters_are_400(org, params):
    response = api_client(org.created_by).get(AUDIT, params)
    assert response.status_code == 400, response.content


def test_export_is_the_filtered_selection_as_csv(org, device):
    owner = org.created_by
    api_client(owner).patch(f"/api/v1/device/{device.slug}/", {"label": "Tank"}, format="json")
    other = make_org()
    make_device(make_project(other))
    response = api_client(owner).get(f"{AUDIT}export/", {"model": "device.device"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["object"] for row in rows} == {device.slug}
    assert {row["org"] for row in rows} == {org.slug}
    assert '{"label": ["Pump", "Tank"]}' in [row["changes"] for row in rows]


def test_export_needs_an_owner(org):
    admin = make_member(org, role=ADMIN)
    response = api_client(admin).get(f"{AUDIT}export/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode().splitlines()[1:] == []


def test_the_dashboard_page_is_for_owners_and_filters(org, device):
    owner = org.created_by
    client = Client()
    client.force_login(owner)
    page = client.get(f"/org/{org.slug}/")
    assert f'href="/org/{org.slug}/audit/"' in page.content.decode()
    api_client(owner).patch(f"/api/v1/device/{device.slug}/", {"label": "Tank"}, format="json")
    response = client.get(f"/org/{org.slug}/audit/", {"model": "device.device", "action": "update"})
    assert response.status_code == 200
    assert response.context["entries"][0].changes == {"label": ["Pump", "Tank"]}
    assert "/api/v1/audit/export/?" in response.context["export_url"]
    admin = make_member(org, role=ADMIN)
    client.force_login(admin)
    assert client.get(f"/org/{org.slug}/audit/").status_code == 403
    assert f'href="/org/{org.slug}/audit/"' not in client.get(f"/org/{org.slug}/").content.decode()
    client.force_login(make_org().created_by)
    assert client.get(f"/org/{org.slug}/audit/").status_code == 404


def test_the_dashboard_page_query_count_does_not_grow(org):
    owner = org.created_by
    client = Client()
    client.force_login(owner)
    for number in range(3):
        make_device(make_project(org), label=f"Device {number}")
    client.get(f"/org/{org.slug}/audit/")
    with assert_query_count(6) as first:
        client.get(f"/org/{org.slug}/audit/")
    for _ in range(5):
        make_fleet(org)
    with assert_query_count(len(first.captured_queries)):
        client.get(f"/org/{org.slug}/audit/")


def test_a_key_secret_shows_in_no_part_in_the_log_nor_its_export(org, device):
    """django-auditlog's own masking keeps the second half of the value: half a device key for every owner."""
    staff = make_member(org, OWNER, is_staff=True)
    secret = "0123456789abcdef" * 4
    response = api_client(staff).post(
        f"/api/v1/device/{device.slug}/keys/", {"type": "USR", "secret": secret}, format="json"
    )
    assert response.status_code == 201, response.content
    rotated = api_client(staff).post(f"/api/v1/device/{device.slug}/keys/USR/rotate/")
    assert rotated.status_code in (200, 201), rotated.content
    key = DeviceKey.objects.get(device=device, type="USR")
    assert key.secret != secret
    created, updated = entries_for(key)
    assert created.changes["secret"] == ["None", "********"]
    assert updated.changes == {"secret": ["********", "********"]}
    owner = api_client(org.created_by)
    listed = owner.get(AUDIT, {"model": "deviceauth.devicekey"}).content.decode()
    exported = b"".join(owner.get(f"{AUDIT}export/", {"model": "deviceauth.devicekey"}).streaming_content).decode()
    for text in (listed, exported):
        for value in (secret, key.secret):
            assert value[-8:] not in text


def test_the_migration_masks_secrets_recorded_before(org, device):
    """Entries written with django-auditlog's half mask lose the half they kept; other fields and models stay."""
    migration = importlib.import_module("server.apps.audit.migrations.0002_mask_recorded_secrets")
    key = DeviceKey.objects.create(device=device, type="USR", secret="ab" * 32)
    [entry] = entries_for(key)
    half = ["**ne", "*" * 32 + "ab" * 16]
    AuditEntry.objects.filter(pk=entry.pk).update(changes={"secret": half, "type": [None, "USR"]})
    rotated = AuditEntry.objects.create(
        content_type=entry.content_type,
        object_pk=entry.object_pk,
        object_repr="key",
        action=1,
        changes={"secret": ["*" * 32 + "ab" * 16, "*" * 32 + "cd" * 16]},
    )
    # A field of another model that happens to be called secret is not the log's to rewrite.
    other = AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Org),
        object_pk=str(org.pk),
        object_repr="org",
        action=1,
        changes={"secret": ["a", "b"]},
    )
    with connection.cursor() as cursor:
        cursor.execute(migration.MASK_SECRETS)
    assert AuditEntry.objects.get(pk=entry.pk).changes == {"secret": ["None", "********"], "type": [None, "USR"]}
    assert AuditEntry.objects.get(pk=rotated.pk).changes == {"secret": ["********", "********"]}
    assert AuditEntry.objects.get(pk=other.pk).changes == {"secret": ["a", "b"]}


def test_create_and_delete_entries_hold_the_row_s_own_fields_only(org):
    """No "<model>.None" entry for each kind of row that may point at the new one (streams, keys, filters...)."""
    staff = make_member(org, OWNER, is_staff=True)
    response = api_client(staff).post("/api/v1/device/", {"label": "Fresh"}, format="json")
    assert response.status_code == 201, response.content
    device = Device.objects.get(slug=response.json()["slug"])
    [created] = entries_for(device)
    concrete = {field.name for field in Device._meta.concrete_fields}
    assert set(created.changes) <= concrete
    assert created.changes["label"] == [None, "Fresh"]
    assert not any(str(after).endswith(".None") for _, after in created.changes.values())
    device_id = device.pk
    device.delete()
    deleted = AuditEntry.objects.filter(object_pk=str(device_id), action=AuditEntry.Action.DELETE).get()
    assert set(deleted.changes) <= concrete


def test_the_migration_strips_the_relations_recorded_before(org, device):
    """Entries written before the registry left reverse relations out lose them, whatever their action; their own
    fields, and entries of other models, stay as they were."""
    from django.apps import apps

    migration = importlib.import_module("server.apps.audit.migrations.0003_strip_recorded_relations")
    device_type = ContentType.objects.get_for_model(Device)
    recorded = {
        "label": [None, "Pump"],
        "keys": [None, "deviceauth.DeviceKey.None"],
        "streams": [None, "stream.StreamId.None"],
        "health": [None, "health.DeviceHealth.None"],
    }
    created = AuditEntry.objects.create(
        content_type=device_type, object_pk=str(device.pk), object_repr="d", action=0, changes=recorded
    )
    deleted = AuditEntry.objects.create(
        content_type=device_type,
        object_pk=str(device.pk),
        object_repr="d",
        action=2,
        changes={"label": ["Pump", None], "keys": ["deviceauth.DeviceKey.None", None]},
    )
    # Only relations go: a field of another model named like one of the device's relations stays.
    other = AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Org),
        object_pk=str(org.pk),
        object_repr="org",
        action=0,
        changes={"name": [None, "Acme"], "keys": [None, "k"]},
    )
    untouched = {entry.pk: entry.changes for entry in AuditEntry.objects.exclude(pk__in=[created.pk, deleted.pk])}
    assert {"keys", "streams", "health"} <= set(migration.reverse_relations(Device))

    with connection.schema_editor() as editor:
        migration.strip_recorded_relations(apps, editor)

    assert AuditEntry.objects.get(pk=created.pk).changes == {"label": [None, "Pump"]}
    assert AuditEntry.objects.get(pk=deleted.pk).changes == {"label": ["Pump", None]}
    assert AuditEntry.objects.get(pk=other.pk).changes == {"name": [None, "Acme"], "keys": [None, "k"]}
    assert {entry.pk: entry.changes for entry in AuditEntry.objects.exclude(pk__in=[created.pk, deleted.pk])} == (
        untouched
    )
