from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "server.apps.telemetry"
    label = "telemetry"
    verbose_name = "Telemetry from any device"
