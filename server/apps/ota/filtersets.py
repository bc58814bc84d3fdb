"""Query-string filters on scripts, deployments, deployment actions and device versions."""

from __future__ import annotations

import django_filters

from server.apps.core.lookups import PublicIdFilter, StrictBooleanFilter, device_id_from
from server.apps.fleet.selectors import fleet_lookup
from server.apps.ota.models import DeploymentAction, DeploymentRequest, DeviceScript, DeviceVersionAttribute


class DeviceScriptFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    released = StrictBooleanFilter(field_name="released")

    class Meta:
        model = DeviceScript
        fields: list[str] = []


class DeploymentRequestFilterSet(django_filters.FilterSet):
    org = django_filters.CharFilter(field_name="org__slug")
    fleet = PublicIdFilter(
        field_name="fleet", lookup=lambda value: {f"fleet__{k}": v for k, v in fleet_lookup(value).items()}
    )
    script = django_filters.CharFilter(field_name="script__slug")

    class Meta:
        model = DeploymentRequest
        fields: list[str] = []


class DeploymentActionFilterSet(django_filters.FilterSet):
    deployment = django_filters.NumberFilter(field_name="deployment_id")
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})

    class Meta:
        model = DeploymentAction
        fields: list[str] = []


class DeviceVersionFilterSet(django_filters.FilterSet):
    device = PublicIdFilter(field_name="device", lookup=lambda value: {"device_id": device_id_from(value)})
    type = django_filters.CharFilter(field_name="type")

    class Meta:
        model = DeviceVersionAttribute
        fields: list[str] = []
