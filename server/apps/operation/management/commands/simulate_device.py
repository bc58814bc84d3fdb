"""``manage.py simulate_device``: play one device or many over MQTT, HTTP or the file stores (docs/operations.md).

manage.py simulate_device --device d--0000-0000-0000-0001 --mode answer
manage.py simulate_device --project p--0000-0001 --count 100 --mode silent --duration 120
manage.py simulate_device --transport http --url http://127.0.0.1:8000 --device d--… --mode fail
manage.py simulate_device --transport store --device d--… --mode malformed
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from server.apps.core.lookups import device_id_from, project_lookup
from server.apps.core.slugs import SlugError
from server.apps.device.models import Device
from server.apps.deviceauth.models import DeviceKey, DeviceKeyType
from server.apps.deviceauth.services import device_token_issue
from server.apps.operation.services.credentials import device_mqtt_logins_provision
from server.apps.operation.simulator import MODES, HttpDevice, MqttFleet, StoreDevice
from server.apps.operation.transports.mqtt import BrokerAddress, broker_address


def _token_user(device: Device) -> Any:
    """Whom the device's token acts for: who claimed it, else its organisation's creator."""
    assert device.org is not None, "only claimed devices are simulated"
    return device.claimed_by or device.org.created_by


class Command(BaseCommand):
    help = "Play devices over MQTT, HTTP or the stores, answering the platform's requests as --mode says."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--transport", choices=["mqtt", "http", "store"], default="mqtt")
        parser.add_argument("--device", action="append", default=[], help="A d-- slug (repeat for several).")
        parser.add_argument("--project", help="Every device of this project (p-- slug or id).")
        parser.add_argument("--count", type=int, default=0, help="At most this many of the project's devices.")
        parser.add_argument("--mode", choices=MODES, default="answer")
        parser.add_argument("--reply-delay", type=float, default=0.0, help="Seconds before answering (MQTT).")
        parser.add_argument("--duration", type=float, default=60.0, help="Seconds to run.")
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds between polls (HTTP, stores).")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The platform (HTTP).")
        parser.add_argument("--broker", default="", help="mqtt://host:port (default: MQTT_DEVICE_BROKER or MQTT_URL).")
        parser.add_argument(
            "--drop", action="store_true", help="End by dropping the connections: the broker sends the last wills."
        )

    def _devices(self, options: dict[str, Any]) -> list[Device]:
        devices = Device.objects.filter(org__isnull=False, project__isnull=False).select_related("org", "project")
        try:
            if options["project"]:
                chosen = list(devices.filter(**project_lookup(options["project"], "project__")).order_by("id"))
                chosen = chosen[: options["count"]] if options["count"] else chosen
            else:
                chosen = list(devices.filter(id__in=[device_id_from(slug) for slug in options["device"]]))
        except (SlugError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if not chosen:
            raise CommandError("No claimed device matches: give --device or --project.")
        return chosen

    def _broker(self, option: str) -> BrokerAddress:
        url = option or (f"mqtt://{settings.MQTT_DEVICE_BROKER}" if settings.MQTT_DEVICE_BROKER else settings.MQTT_URL)
        if not url:
            raise CommandError("Give --broker mqtt://host:port, or set MQTT_DEVICE_BROKER or MQTT_URL.")
        return broker_address(url)

    def handle(self, *args: Any, **options: Any) -> None:
        devices = self._devices(options)
        end = time.monotonic() + options["duration"]
        if options["transport"] == "mqtt":
            self._mqtt(devices, options, end)
        elif options["transport"] == "http":
            players = [
                HttpDevice(
                    base_url=options["url"],
                    token=device_token_issue(user=_token_user(device), device=device),
                    mode=options["mode"],
                )
                for device in devices
            ]
            while time.monotonic() < end:
                handled = sum(len(player.poll()) for player in players)
                if handled:
                    self.stdout.write(f"answered {handled} requests ({options['mode']})")
                time.sleep(options["interval"])
        else:
            stores = [StoreDevice(slug=device.slug, mode=options["mode"]) for device in devices]
            while time.monotonic() < end:
                handled = sum(player.answer() for player in stores)
                if handled:
                    self.stdout.write(f"wrote status files for {handled} commands ({options['mode']})")
                time.sleep(options["interval"])

    def _mqtt(self, devices: list[Device], options: dict[str, Any], end: float) -> None:
        if settings.MQTT_ADMIN_URL:
            logins = device_mqtt_logins_provision(devices=devices)
        else:
            keys = DeviceKey.objects.filter(device__in=devices, type=DeviceKeyType.MQTT).select_related("device")
            logins = {key.device.slug: key.secret for key in keys}
            if len(logins) < len(devices):
                raise CommandError("Some devices have no MQTT login: set MQTT_ADMIN_URL to provision them.")
        fleet = MqttFleet(
            broker=self._broker(options["broker"]),
            logins=logins,
            mode=options["mode"],
            reply_delay=options["reply_delay"],
        )
        fleet.connect()
        try:
            fleet.run(seconds=max(0.0, end - time.monotonic()))
        finally:
            fleet.disconnect(clean=not options["drop"])
            fleet.run(seconds=0.5)
        requests = sum(len(record.requests) for record in fleet.records.values())
        connected = sum(record.connections > 0 for record in fleet.records.values())
        self.stdout.write(f"{connected} devices connected, {requests} requests answered ({options['mode']})")
        if fleet.refused:
            self.stdout.write(f"refused: {fleet.refused}")
