"""Device health (``health/``, ``health/<d-->/``): each device's status, and its expected period and recipients,
which owners and administrators set (``PATCH``)."""

from __future__ import annotations

from django.http import Http404
from rest_framework.response import Response

from server.apps.core.api.schema import write_schemas
from server.apps.core.api.viewsets import ScopedReadUpdateViewSet
from server.apps.core.lookups import device_id_from
from server.apps.device.selectors import device_list
from server.apps.health import selectors
from server.apps.health.api import serializers
from server.apps.health.models import DeviceHealth
from server.apps.health.services import device_health_update


@write_schemas(update=serializers.DeviceHealthUpdateSerializer, response=serializers.DeviceHealthSerializer)
class DeviceHealthViewSet(ScopedReadUpdateViewSet):
    """A device's health by its ``d--`` slug: ``status`` (OK, FAIL, UNK), ``changed_on``, ``period`` (seconds) and
    ``recipients``. A watched device the check has not reached yet shows the defaults."""

    queryset = DeviceHealth.objects.all()
    serializer_class = serializers.DeviceHealthSerializer

    def get_queryset(self):
        return selectors.device_health_list(user=self.request.user).order_by("device_id")

    def get_object(self):
        try:
            device_id = device_id_from(self.kwargs[self.lookup_field])
        except ValueError as exc:
            raise Http404 from exc
        device = device_list(user=self.request.user).filter(id=device_id).first()
        if device is None or device.org is None:
            raise Http404
        return selectors.device_health_for(device=device)

    def update(self, request, *args, **kwargs):
        health = self.get_object()
        data = serializers.DeviceHealthUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        health = device_health_update(user=request.user, device=health.device, **data.validated_data)
        return Response(serializers.DeviceHealthSerializer(health).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)
