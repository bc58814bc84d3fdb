"""How the OpenAPI schema describes device tokens."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "server.apps.deviceauth.tokens.DeviceTokenAuthentication"
    name = "deviceTokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A device token from device/<d>/key/?type=a-jwt, sent as 'Authorization: a-jwt <token>'.",
        }
