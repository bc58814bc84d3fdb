"""The MQTT tests' broker and bridge are the operation app's (``operation/tests/conftest.py``)."""

from server.apps.operation.tests.conftest import bridge, broker, mosquitto  # noqa: F401
