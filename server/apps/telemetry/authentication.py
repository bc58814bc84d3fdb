"""The device token in the URL (``/api/v1/<token>/telemetry``, ThingsBoard's device API): the same ``a-jwt`` device
token as ``Authorization: a-jwt <token>`` (``deviceauth.tokens``), read from the path instead of a header. A token
whose user has left the device's organisation is refused (401) like a revoked one; whether the user may add data
there comes in the same query (``token_permitted``)."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication

from server.apps.deviceauth.tokens import device_token_decode

TELEMETRY_PERMISSION = "can_create_stream_data"


class UrlDeviceTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, Any]:
        token = (getattr(request, "parser_context", None) or {}).get("kwargs", {}).get("token", "")
        user, scope = device_token_decode(token, permission=TELEMETRY_PERMISSION)
        user.token_scope = scope
        return user, scope

    def authenticate_header(self, request: Any) -> str:
        return 'Token realm="device"'
