from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated

from server.apps.search.api.serializers import SearchQuerySerializer, SearchResultSerializer
from server.apps.search.selectors import search_results


class SearchView(GenericAPIView):
    """Devices, projects, data blocks and properties matching ``q``, best first, from the user's organisations."""

    permission_classes = [IsAuthenticated]
    serializer_class = SearchResultSerializer
    filter_backends: list[type] = []  # ``q`` is the one query; no filterset

    @extend_schema(parameters=[SearchQuerySerializer], summary="Search", responses=SearchResultSerializer(many=True))
    def get(self, request):
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(search_results(user=request.user, text=query.validated_data["q"]))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
