from __future__ import annotations

from server.apps.core.api.catalog import CatalogViewSet
from server.apps.vartype import services
from server.apps.vartype.api.serializers import VarTypeSerializer
from server.apps.vartype.models import VarType


class VarTypeViewSet(CatalogViewSet):
    """Variable types with their input and output units: any authenticated user reads them, staff write them."""

    queryset = VarType.objects.prefetch_related("input_units", "output_units")
    serializer_class = VarTypeSerializer
    filterset_fields = ["stream_data_type"]
    create_service = services.vartype_create
    update_service = services.vartype_update
