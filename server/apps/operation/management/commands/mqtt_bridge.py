"""``manage.py mqtt_bridge``: run the MQTT bridge (``operation/bridge.py``) until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from server.apps.operation.bridge import MqttBridge


class Command(BaseCommand):
    help = "Listen to the devices' presence and replies on the MQTT broker (MQTT_URL) and record them in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="", help="The broker and the platform's login (default: MQTT_URL).")
        parser.add_argument("--client-id", default="platform-bridge", help="A stable id keeps the session.")
        parser.add_argument(
            "--share-group",
            default="",
            help="Several bridges split the messages ($share/<group>/…); give each its own stable --client-id.",
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--batch-wait", type=float, default=0.05, help="Seconds to wait for a batch to fill.")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"] or settings.MQTT_URL
        if not url:
            raise CommandError("Set MQTT_URL (mqtt://user:password@host:port) or pass --url.")
        bridge = MqttBridge(
            url=url,
            client_id=options["client_id"],
            share_group=options["share_group"],
            batch_size=options["batch_size"],
            batch_wait=options["batch_wait"],
        )

        def stop(signum: int, frame: Any) -> None:
            bridge.stop()

        def announce() -> None:
            # A line supervisors and the benchmark wait for: from now on nothing a device sends is missed.
            if bridge.subscribed.wait():
                self.stdout.write("MQTT bridge subscribed", ending="\n")
                self.stdout.flush()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        threading.Thread(target=announce, daemon=True).start()
        stats = bridge.run()
        self.stdout.write(
            f"MQTT bridge stopped: {stats.messages} messages in {stats.batches} batches, "
            f"{stats.errors} errors, {stats.dropped} dropped"
        )
