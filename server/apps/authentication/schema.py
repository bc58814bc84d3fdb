"""How the OpenAPI schema describes the API's own authentication classes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JSONWebTokenScheme(OpenApiAuthenticationExtension):
    target_class = "server.apps.authentication.authentication.JSONWebTokenAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        # Swagger UI sends "Bearer <t>"; the IOTile clients send "jwt <t>". Both are accepted.
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A token from auth/login/, sent as 'Authorization: jwt <token>' or 'Bearer <token>'.",
        }
