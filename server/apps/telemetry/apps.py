from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "server.apps.telemetry"
    label = "telemetry"
    verbose_name = "Telemetry from any device"

    def ready(self) -> None:
        # The MQTT telemetry topic registers itself with the bridge's inbound-topic registry on import.
        # A device replacement moves the replaced device's mapping to its successor (docs/telemetry.md).
        from server.apps.device.services import register_replacement_follower
        from server.apps.telemetry import mqtt  # noqa: F401
        from server.apps.telemetry.services.mapping import mapping_follow_replacement

        register_replacement_follower(mapping_follow_replacement)
