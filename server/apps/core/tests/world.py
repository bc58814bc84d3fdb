"""A small world of real objects for the tests that walk every route: the schemathesis run and the access matrix.

One organisation with one of everything an endpoint can name (project, device with data, stream, variable, alias and
tap, data block, streamer and report, event, note, location, property, property template, config attribute,
invitation, a member), the shared catalogs, and a staff account. :func:`route_kwargs` fills a route's parameters with
the world's ids, so a new route whose parameter it does not know fails the walk instead of escaping it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from server.apps.audit.models import AuditEntry
from server.apps.configattribute.tests.factories import set_config
from server.apps.core.targets import target_for_object
from server.apps.core.testing import make_member, make_org, make_user
from server.apps.datablock.tests.factories import make_block, make_deployment
from server.apps.desiredstate.models import DeviceCurrentState
from server.apps.desiredstate.tests.factories import make_desired_state
from server.apps.device.tests.factories import make_project
from server.apps.deviceauth.models import DeviceKey, DeviceKeyType
from server.apps.deviceauth.services import device_token_issue
from server.apps.devicelocation.models import DeviceLocation
from server.apps.devicetemplate.services import component_create, device_template_create
from server.apps.deviceupload.models import UPLOAD_STORE, DeviceUpload
from server.apps.deviceupload.tests.factories import LOG, make_schedule, make_upload
from server.apps.fleet.tests.factories import make_fleet
from server.apps.forwarding.tests.factories import make_destination
from server.apps.operation.tests.factories import make_operation
from server.apps.org.roles import MEMBER
from server.apps.org.services import invitation_create
from server.apps.ota.models import DeploymentAction, DeviceVersionAttribute, VersionType
from server.apps.ota.tests.factories import make_deployment as make_ota_deployment
from server.apps.ota.tests.factories import make_script
from server.apps.project.models import RetentionRun
from server.apps.property.services import property_create, property_template_create
from server.apps.report.tests.factories import make_generated, make_template
from server.apps.sensorgraph.tests.factories import make_sensor_graph
from server.apps.stores.selectors import store_file_url
from server.apps.stores.services import store_file_save
from server.apps.streamalias.services import alias_create, alias_tap_create
from server.apps.streamer.models import Streamer
from server.apps.streamer.tests.factories import make_report
from server.apps.streamevent.models import StreamEventData
from server.apps.streamfilter.models import StreamFilterAlert
from server.apps.streamfilter.tests.factories import make_filter
from server.apps.streamnote.models import StreamNote
from server.apps.telemetry.models import RawMessage
from server.apps.telemetry.services.integrations import integration_create
from server.apps.telemetry.services.mapping import logical_device_create, mapping_start, physical_device_create
from server.apps.worker.models import DeadLetter

_sequence = itertools.count(1)


@dataclass
class World:
    org: Any
    owner: Any
    member: Any
    project: Any
    device: Any
    stream: Any
    alias: Any
    tap: Any
    block: Any
    streamer: Any
    report: Any
    event: Any
    note: Any
    location: Any
    property: Any
    property_template: Any
    config: Any
    invitation: Any
    operation: Any
    fleet: Any
    script: Any
    deployment: Any
    action: Any
    version: Any
    audit_entry: Any
    destination: Any
    report_template: Any
    generated_report: Any
    stream_filter: Any
    alert: Any
    download: tuple[str, str]  # a signed store download's token and file name
    device_token: str
    raw_message: Any
    physical: Any
    logical: Any
    mapping: Any
    integration: Any
    desired_state: Any
    current_state: Any
    upload: Any
    upload_schedule: Any
    retention_run: Any

    def slugs(self) -> list[str]:
        """Ids of this world's objects that no other organisation may ever see in an answer."""
        return [
            self.project.slug,
            str(self.project.id),
            self.device.slug,
            self.stream.slug,
            self.alias.slug,
            self.block.slug,
            self.streamer.slug,
            str(self.report.id),
            str(self.invitation.id),
            str(self.generated_report.id),
            self.member.email,
            str(self.raw_message.correlation_id),
            str(self.integration.id),
        ]


@dataclass
class Catalog:
    staff: Any
    sg: Any
    template: Any
    component: Any
    var_type: Any
    variable_template: Any
    config_name: str
    dead_letter: Any


def make_world(name: str | None = None) -> World:
    org = make_org(name=name or f"World {next(_sequence)}")
    owner = org.created_by
    deployment = make_deployment(make_project(org))
    device, stream = deployment.device, deployment.level
    alias = alias_create(user=owner, org=org, name="Level")
    tap = alias_tap_create(user=owner, alias=alias, stream=stream, timestamp=stream.created_on)
    target = target_for_object(device)
    DeviceKey.objects.create(device=device, type=DeviceKeyType.SSH, secret="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAworld")
    fleet = make_fleet(org, devices=[device])
    script = make_script(org)
    deployment = make_ota_deployment(script, fleet)
    action = DeploymentAction.objects.create(deployment=deployment, device=device)
    version = DeviceVersionAttribute.objects.create(
        device=device, type=VersionType.APP, tag=1024, major_version=2, minor_version=0, updated_ts=stream.created_on
    )
    report_template = make_template(device.project, sources=[stream.slug])
    _, token, name = store_file_url(store="apps", key=script.file_key).rstrip("/").rsplit("/", 2)
    physical = physical_device_create(user=owner, device=device, source_name="http")
    logical = logical_device_create(user=owner, project=device.project, name="Tank")
    raw_message = RawMessage.objects.create(
        source="http",
        source_message_id=f"world-{org.slug}",
        org=org,
        device=device,
        received_at=stream.created_on,
        body='{"level": 1}',
        status="unmapped",
    )
    stream_filter = make_filter(device.project, stream.variable, user=owner)
    alert = StreamFilterAlert.objects.create(
        filter=stream_filter,
        filter_name=stream_filter.name,
        org=org,
        project=device.project,
        series=stream.series,
        stream_slug=stream.slug,
        src="normal",
        dst="high",
        value=40.0,
        timestamp=stream.created_on,
        streamer_local_id=1,
    )
    return World(
        org=org,
        owner=owner,
        member=make_member(org, MEMBER),
        project=device.project,
        device=device,
        stream=stream,
        alias=alias,
        tap=tap,
        block=make_block(org),
        streamer=Streamer.objects.get(device=device, index=0),
        report=make_report(Streamer.objects.get(device=device, index=0), incremental_id=7),
        event=StreamEventData.objects.filter(series=stream.series).first(),
        note=StreamNote.objects.filter(target=device.slug).first(),
        location=DeviceLocation.objects.filter(target=device.slug).first(),
        property=property_create(user=owner, target=target, name="colour", value="blue"),
        property_template=property_template_create(user=owner, org=org, name="size", enums=["s", "m"]),
        config=set_config(device, ":report:summary", {"on": True}, user=owner),
        invitation=invitation_create(
            org=org, email=f"invited{next(_sequence)}@example.com", role=MEMBER, sent_by=owner
        ),
        operation=make_operation(device),
        fleet=fleet,
        script=script,
        deployment=deployment,
        action=action,
        version=version,
        audit_entry=AuditEntry.objects.filter(org_id=org.id).order_by("id").first(),
        destination=make_destination(org),
        report_template=report_template,
        generated_report=make_generated(device.project, report_template),
        stream_filter=stream_filter,
        alert=alert,
        download=(token, name),
        device_token=device_token_issue(user=owner, device=device),
        raw_message=raw_message,
        physical=physical,
        logical=logical,
        mapping=mapping_start(user=owner, physical=physical, logical=logical),
        integration=integration_create(user=owner, project=device.project, name="The Things Stack"),
        desired_state=make_desired_state(fleet=fleet, transport="http"),
        current_state=DeviceCurrentState.objects.create(device=device, org=org),
        upload=_arrived_upload(device),
        upload_schedule=make_schedule(device=device),
        retention_run=RetentionRun.objects.create(project=device.project, created_by=owner),
    )


def _arrived_upload(device: Any) -> Any:
    """A file the device uploaded: stored, its size known, so its download routes answer."""
    upload = make_upload(device)
    store_file_save(store=UPLOAD_STORE, key=upload.key, content=LOG)
    DeviceUpload.objects.filter(pk=upload.pk).update(size=len(LOG))
    upload.size = len(LOG)
    return upload


def make_catalog() -> Catalog:
    staff = make_user(is_staff=True)
    sg = make_sensor_graph()
    component = component_create(created_by=staff, external_sku=f"POD-{next(_sequence)}")
    template = device_template_create(
        created_by=staff, external_sku=f"TPL-{next(_sequence)}", slots=[{"number": 0, "component": component.slug}]
    )
    variable_template = sg.variable_templates.exclude(var_type=None).first()
    dead_letter = DeadLetter.objects.create(action="ProcessReport", arguments={}, error="test")
    return Catalog(
        staff=staff,
        sg=sg,
        template=template,
        component=component,
        var_type=variable_template.var_type,
        variable_template=variable_template,
        config_name=":report:summary",
        dead_letter=dead_letter,
    )


def _api_value(route: str, resource: str, param: str, world: World, catalog: Catalog) -> Any:
    """The id a path parameter of an API route under ``resource/`` (its first segment) takes in the world."""
    values: dict[tuple[str, str], Any] = {
        ("account", "slug"): world.owner.slug,
        ("alias", "slug"): world.alias.slug,
        ("component", "slug"): catalog.component.slug,
        ("datablock", "slug"): world.block.slug,
        ("device", "slug"): world.device.slug,
        ("dt", "slug"): catalog.template.slug,
        ("org", "slug"): world.org.slug,
        ("org", "org_slug"): world.org.slug,
        ("org", "user"): world.member.slug,
        ("sg", "slug"): catalog.sg.slug,
        ("stream", "slug"): world.stream.slug,
        ("streamer", "slug"): world.streamer.slug,
        ("streamer", "id"): world.report.id,
        ("variable", "slug"): world.stream.variable.slug,
        ("vartype", "slug"): catalog.var_type.slug,
        ("config", "id"): world.config.id,
        ("config", "name"): catalog.config_name,
        ("event", "id"): world.event.id,
        ("invitation", "id"): world.invitation.id,
        ("location", "id"): world.location.id,
        ("note", "id"): world.note.id,
        ("project", "id"): world.project.id,
        ("property", "id"): world.property.id,
        ("propertytemplate", "id"): world.property_template.id,
        ("tap", "id"): world.tap.id,
        ("vartemplate", "pk"): catalog.variable_template.id,
        ("vartemplate", "id"): catalog.variable_template.id,  # the schema names the route's pk "id"
        ("audit", "id"): world.audit_entry.id,
        ("filter", "id"): world.stream_filter.id,
        ("alert", "id"): world.alert.id,
        ("device", "key_type"): "ssh",
        ("fleet", "slug"): world.fleet.slug,
        ("operation", "id"): world.operation.id,
        ("destination", "id"): world.destination.id,
        ("ota", "id"): _ota_id,
        ("ota", "slug"): _ota_slug,
        # ThingsBoard's telemetry path starts with the device token: as the URL conf and as the schema write it.
        ("(?P<token>[A-Za-z0-9_.-]+)", "token"): world.device_token,
        (r"(?P<token>[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)", "token"): world.device_token,
        ("{token}", "token"): world.device_token,
        ("ttn", "integration"): world.integration.id,
        ("rawmessage", "correlation_id"): world.raw_message.correlation_id,
        ("pd", "uid"): world.physical.pk,
        ("ld", "uid"): world.logical.pk,
        ("map", "id"): world.mapping.id,
        ("integration", "id"): world.integration.id,
        ("report", "id"): _report_id,
        ("desiredstate", "id"): world.desired_state.id,
        ("currentstate", "slug"): world.device.slug,
        ("health", "slug"): world.device.slug,
        ("upload", "id"): world.upload.id,
        ("uploadschedule", "id"): world.upload_schedule.id,
        ("retention", "id"): world.retention_run.id,
    }
    value = values[(resource, param)]
    return value(route, world) if callable(value) else value


def _ota_id(route: str, world: World) -> Any:
    """``ota/<kind>/<id>/``: an action, a deployment request or a version attribute."""
    kind = route.removeprefix("api/v1/ota/").split("/", 1)[0]
    return {"action": world.action.id, "request": world.deployment.id, "version": world.version.id}[kind]


def _ota_slug(route: str, world: World) -> Any:
    """``ota/<kind>/<slug>/``: a device or a script."""
    kind = route.removeprefix("api/v1/ota/").split("/", 1)[0]
    return {"device": world.device.slug, "script": world.script.slug}[kind]


def _report_id(route: str, world: World) -> Any:
    """``report/<id>/`` a template, ``report/generated/<uuid>/`` a generated report."""
    if route.startswith("api/v1/report/generated/"):
        return world.generated_report.id
    return world.report_template.id


def _page_value(param: str, world: World, catalog: Catalog) -> Any:
    """The id a dashboard route's parameter takes in the world; dashboard parameters name their kind."""
    values: dict[str, Any] = {
        "org_slug": world.org.slug,
        "project_id": world.project.id,
        "device_slug": world.device.slug,
        "stream_slug": world.stream.slug,
        "alias_slug": world.alias.slug,
        "block_slug": world.block.slug,
        "user_slug": world.member.slug,
        "invitation_id": world.invitation.id,
        "attribute_id": world.config.id,
        "property_id": world.property.id,
        "key_type": "ssh",
        "key_name": "ssh",
        "operation": "rotate",
        "deployment_id": world.deployment.id,
        "operation_id": world.operation.id,
        "fleet_slug": world.fleet.slug,
        "destination_id": world.destination.id,
        "desired_state_id": world.desired_state.id,
        "filter_id": world.stream_filter.id,
        "alert_id": world.alert.id,
        "upload_id": world.upload.id,
        "schedule_id": world.upload_schedule.id,
        "token": world.download[0],
        "name": world.download[1],
        "pk": catalog.dead_letter.pk,
        "slug": world.device.slug,
        "report_id": world.report_template.id,
        "generated_id": world.generated_report.id,
    }
    return values[param]


def route_kwargs(route: str, params: list[str], world: World, catalog: Catalog) -> dict[str, Any]:
    """Values for ``params`` of ``route`` (``api/v1/device/(?P<slug>…)/extra/?$`` or ``org/<slug:org_slug>/``).
    Raises ``KeyError`` for a parameter the world does not know: add it here with the object it names."""
    if route.startswith("api/v1/"):
        resource = route.removeprefix("api/v1/").split("/", 1)[0]
        return {param: _api_value(route, resource, param, world, catalog) for param in params}
    return {param: _page_value(param, world, catalog) for param in params}


@dataclass
class Route:
    route: str  # the pattern's text, from the root
    name: str  # the URL name with its namespaces, for reverse()
    params: list[str]
    callback: Any


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>")
_CONVERTER = re.compile(r"(?<!\?P)<(?:\w+:)?(\w+)>")


def all_routes(resolver: URLResolver | None = None, prefix: str = "", namespace: str = "") -> list[Route]:
    """Every URL pattern reachable from the root URL conf, with its full text, reversible name and parameters."""
    resolver = resolver or get_resolver()
    routes: list[Route] = []
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern).lstrip("^")
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            routes += all_routes(pattern, text.rstrip("$"), inner)
        elif isinstance(pattern, URLPattern):
            params = _NAMED_GROUP.findall(text) + _CONVERTER.findall(text)
            name = f"{namespace}{pattern.name}" if pattern.name else ""
            routes.append(Route(route=text, name=name, params=params, callback=pattern.callback))
    return routes
