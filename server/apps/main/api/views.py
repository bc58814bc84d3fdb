from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class ServerView(APIView):
    """The server's clock and identity. No authentication at all: clients check their time before they log in."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        auth=[],
        responses=inline_serializer(
            "ServerInfo",
            {
                "now": serializers.DateTimeField(help_text="Server time, ISO 8601 in UTC"),
                "name": serializers.CharField(),
                "stage": serializers.CharField(),
                "version": serializers.CharField(help_text="API version"),
            },
        ),
        summary="Server time and identity",
    )
    def get(self, request):
        return Response(
            {
                "now": timezone.now().isoformat().replace("+00:00", "Z"),
                "name": settings.SPECTACULAR_SETTINGS["TITLE"],
                "stage": settings.SERVER_STAGE,
                "version": settings.SPECTACULAR_SETTINGS["VERSION"],
            }
        )
