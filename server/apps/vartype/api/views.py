from __future__ import annotations

from django.core.cache import cache
from rest_framework.response import Response

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
    update_instance = "var_type"

    def retrieve(self, request, *args, **kwargs):
        # Analytics reads the variable type of every stream it loads: the same few rows, three queries each time.
        # Served from the cache; the services drop an entry whenever they write its type or units.
        key = services.vartype_cache_key(kwargs[self.lookup_field])
        if key is None:  # no variable type's slug: the lookup's 404, never a cache key
            return super().retrieve(request, *args, **kwargs)
        data = cache.get(key)
        if data is None:
            data = dict(self.get_serializer(self.get_object()).data)
            cache.set(key, data, services.VARTYPE_CACHE_SECONDS)
        return Response(data)
