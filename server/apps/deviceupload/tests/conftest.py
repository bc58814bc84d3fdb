"""The MQTT tests' broker and bridge are the operation app's (a real Mosquitto with dynamic security)."""

from server.apps.operation.tests.conftest import bridge, broker, mosquitto  # noqa: F401
