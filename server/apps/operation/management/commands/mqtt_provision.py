"""``manage.py mqtt_provision``: logins on the broker through its dynamic-security plugin (``MQTT_ADMIN_URL``).

manage.py mqtt_provision --platform platform:secret      # the bridge's and the worker's login (MQTT_URL)
manage.py mqtt_provision --project p--0000-0001          # each device of a project: its own login and topics
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from server.apps.core.lookups import device_id_from, project_lookup
from server.apps.device.models import Device
from server.apps.operation.services.credentials import device_mqtt_logins_provision
from server.apps.operation.transports.dynsec import broker_admin_run, platform_login_commands


class Command(BaseCommand):
    help = "Create the platform's and the devices' MQTT logins and topic rules on the broker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--platform", help="USERNAME:PASSWORD of the platform's own login.")
        parser.add_argument("--device", action="append", default=[])
        parser.add_argument("--project")
        parser.add_argument("--rotate", action="store_true", help="New passwords for the devices.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.MQTT_ADMIN_URL:
            raise CommandError("Set MQTT_ADMIN_URL (mqtt://admin:password@host:port).")
        if options["platform"]:
            username, _, password = options["platform"].partition(":")
            if not username or not password:
                raise CommandError("--platform USERNAME:PASSWORD")
            broker_admin_run(settings.MQTT_ADMIN_URL, platform_login_commands(username, password))
            self.stdout.write(f"platform login {username} reaches devices/#")
        devices = Device.objects.filter(org__isnull=False)
        chosen: list[Device] = []
        if options["project"]:
            chosen = list(devices.filter(**project_lookup(options["project"], "project__")))
        elif options["device"]:
            chosen = list(devices.filter(id__in=[device_id_from(slug) for slug in options["device"]]))
        if chosen:
            device_mqtt_logins_provision(devices=chosen, rotate=options["rotate"])
            self.stdout.write(f"{len(chosen)} device logins provisioned")
