from __future__ import annotations

from server.apps.core.api.viewsets import ScopedReadOnlyViewSet
from server.apps.datablock import selectors
from server.apps.datablock.api.serializers import DataBlockSerializer
from server.apps.datablock.filtersets import DataBlockFilterSet
from server.apps.datablock.models import DataBlock


class DataBlockViewSet(ScopedReadOnlyViewSet):
    """Data blocks (archived device data, ``b--`` slugs); read with ``can_access_datablock``.

    Creating them (archiving a device) arrives with the archive worker.
    """

    queryset = DataBlock.objects.all()
    serializer_class = DataBlockSerializer
    filterset_class = DataBlockFilterSet

    def get_queryset(self):
        return selectors.datablock_list(user=self.request.user)

    def object_lookup(self, value: str) -> dict:
        return selectors.datablock_lookup(value)
