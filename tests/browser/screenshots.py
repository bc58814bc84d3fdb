"""The dashboard screenshots in docs/screenshots/, taken from seeded demo data in headless Chromium.

    python tests/browser/screenshots.py        (or: inv screenshots)

It runs itself under pytest, so it uses the test databases and a live server like the browser tests do, and
leaves the development database alone. The demo organisation is made through the services, and its devices'
readings arrive the way a device's do: signed streamer reports, uploaded and then processed by the real worker.
Each page is saved at 1280x800: the organisation, a device, its locations tab, a project, a data block, the staff
pages.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
PASSWORD = "a-long-Pass-phrase-42"
# A user streamer: every user output and the reboots (bit 11, the system streams, clear).
USER_SELECTOR = 0xD7FF


def signed_report(device_id: int, rows: list[tuple[int, int, int, int]], *, report_id: int, sent: int, user_key=None):
    """A SignedListReport built by iotile-core from ``(uptime, stream, value, reading_id)`` rows."""
    from iotile.core.hw.auth.auth_provider import AuthProvider
    from iotile.core.hw.reports import IOTileReading, SignedListReport

    readings = [IOTileReading(raw, stream, value, reading_id=rid) for raw, stream, value, rid in rows]
    if user_key is None:
        report = SignedListReport.FromReadings(
            device_id, readings, report_id=report_id, selector=USER_SELECTOR, sent_timestamp=sent
        )
    else:
        from server.apps.streamer.tests.factories import FixedKeyProvider

        signer = FixedKeyProvider(AuthProvider.UserKey, {device_id: user_key})
        report = SignedListReport.FromReadings(
            device_id, readings, root_key=AuthProvider.UserKey, signer=signer, report_id=report_id, sent_timestamp=sent
        )
    return bytes(report.raw_report)


class Demo:
    """North Water Utility: people with each role, pending invitations, three projects of claimed devices, and a
    few hours of readings from each device."""

    def __init__(self) -> None:
        from django.core.management import call_command

        from server.apps.authentication.services import account_create
        from server.apps.org.roles import ADMIN, DEVELOPER, MEMBER, OPERATOR
        from server.apps.org.services import invitation_create, org_create, org_member_add

        call_command("seed_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
        self.staff = account_create(email="ops@platform.example", password=PASSWORD, name="Platform Ops", is_staff=True)
        self.owner = account_create(email="olivia.marsh@northwater.example", password=PASSWORD, name="Olivia Marsh")
        self.org = org_create(
            name="North Water Utility",
            about="Reservoir levels, flows and cold storage across the northern district.",
            created_by=self.owner,
        )
        for name, email, role in [
            ("Ravi Patel", "ravi.patel@northwater.example", ADMIN),
            ("Jonas Berg", "jonas.berg@northwater.example", MEMBER),
            ("Amira Haddad", "amira.haddad@northwater.example", OPERATOR),
            ("Chen Wei", "chen.wei@northwater.example", DEVELOPER),
        ]:
            org_member_add(org=self.org, user=account_create(email=email, password=PASSWORD, name=name), role=role)
        invitation_create(org=self.org, email="field.crew@northwater.example", role=OPERATOR, sent_by=self.owner)
        invitation_create(org=self.org, email="lena.kovacs@contractor.example", role=MEMBER, sent_by=self.owner)

        self.now = datetime.now(UTC).replace(microsecond=0)
        meters = self.project("Reservoir meters", "Inflow and outflow meters of the three reservoirs.")
        cold = self.project("Cold storage", "Temperature loggers in the chemical store.")
        self.project("Rain gauges", "Gauges to be deployed this spring.")

        self.devices = []
        for number, (label, quiet) in enumerate(
            [
                ("Inlet meter, Reservoir A", 4),
                ("Outlet meter, Reservoir A", 9),
                ("Inlet meter, Reservoir B", 15),
                ("Outlet meter, Reservoir B", 6 * 60),
                ("Bypass meter", 25),
            ]
        ):
            self.devices.append(self.device(meters, "water-meter--v1-0-0", label, quiet, seed=number))
        self.device(meters, "water-meter--v1-0-0", "Spare meter", None, seed=9)
        for number, label in enumerate(["Store 1 logger", "Store 2 logger", "Loading bay logger"]):
            self.device(cold, "temperature-logger--v1-0-0", label, 7 + 3 * number, seed=number, temperature=True)
        self.inlet = self.devices[0]
        self.process()
        self.backdate()
        self.track(self.inlet)
        self.block = self.archive(self.devices[4])

    def project(self, name: str, about: str):
        from server.apps.project.services import project_create

        return project_create(org=self.org, name=name, about=about, created_by=self.owner)

    def device(self, project, sg: str, label: str, quiet_minutes: int | None, *, seed: int, temperature=False):
        """A device claimed into ``project``, with three reports of readings two hours apart, the last
        ``quiet_minutes`` ago. The first device also gets a report the worker must refuse."""
        from server.apps.device.services import device_claim, device_create, device_update

        template = "pod-1t--v1-0-0" if temperature else "pod-1w--v1-0-0"
        device = device_create(created_by=self.staff, sg=sg, label=label, template=template)
        device = device_claim(user=self.owner, device=device.slug, project=project)
        position = {"lat": Decimal(59330 + seed * 7) / 1000, "lon": Decimal(18060 + seed * 13) / 1000}
        external_id = f"{'TL' if temperature else 'WM'}-{4100 + device.id}"
        device_update(device=device, user=self.owner, external_id=external_id, **position)
        if quiet_minutes is None:
            return device
        for index in range(3):
            received = self.now - timedelta(minutes=quiet_minutes + 120 * (2 - index))
            self.upload(device, report_id=index + 1, end=received, seed=seed, temperature=temperature)
            if index == 0 and not self.devices and not temperature:
                self.add_failed_report(device, received + timedelta(minutes=55))
        return device

    def upload(self, device, *, report_id: int, end: datetime, seed: int, temperature: bool):
        """Two hours of readings, one every ten minutes per stream, received at ``end``."""
        from server.apps.streamer.services.upload import streamer_report_upload

        sent = 200_000 + report_id * 7200
        rows, reading_id = [], (report_id - 1) * 26
        for step in range(12):
            uptime = sent - 7200 + (step + 1) * 600
            hour = (end.hour + step / 6) % 24
            if temperature:
                first = int(400 + 60 * seed + 35 * ((hour - 12) / 12) ** 2 * 10)  # hundredths of a degree
                second = 3610 - report_id * 4 - step // 4  # battery in millivolts
            else:
                first = 120 + 17 * seed + (step * 7 + report_id * 3) % 23  # pulses in ten minutes
                second = 180_000 + seed * 25_000 + (report_id * 12 + step) * 1_450  # hundredths of a gallon
            rows.append((uptime, 0x5001, first, reading_id + 1))
            rows.append((uptime, 0x5002, second, reading_id + 2))
            reading_id += 2
        content = signed_report(device.id, rows, report_id=reading_id + 1, sent=sent)
        streamer_report_upload(
            user=self.owner, file_name=f"{device.slug}-{report_id}.bin", content=content, received_time=end
        )

    def add_failed_report(self, device, received: datetime):
        """A report keyed with a user key the platform was never given: the worker fails it with the reason."""
        from server.apps.streamer.services.upload import streamer_report_upload

        rows = [(199_000, 0x5001, 1, 9001)]
        content = signed_report(device.id, rows, report_id=9002, sent=199_500, user_key=bytes(32))
        streamer_report_upload(user=self.owner, file_name="gateway-retry.bin", content=content, received_time=received)

    def backdate(self) -> None:
        """Give the organisation a history: it and its projects began months ago, the devices were claimed since."""
        from server.apps.device.models import Device
        from server.apps.org.models import Invitation, Org
        from server.apps.project.models import Project

        Org.objects.filter(pk=self.org.pk).update(created_on=self.now - timedelta(days=412))
        Project.objects.filter(org=self.org).update(created_on=self.now - timedelta(days=380))
        for number, device in enumerate(Device.objects.filter(org=self.org).order_by("id")):
            claimed = self.now - timedelta(days=300 - 17 * number)
            Device.objects.filter(pk=device.pk).update(claimed_on=claimed, created_on=claimed - timedelta(days=20))
        Invitation.objects.filter(org=self.org, email__startswith="lena").update(sent_on=self.now - timedelta(days=2))

    def track(self, device) -> None:
        """A day of GPS fixes along the reservoir's shore, a property and a note, for the device's tabs."""
        from server.apps.core.targets import target_for_object
        from server.apps.devicelocation.services import device_location_create
        from server.apps.property.services import property_create
        from server.apps.streamnote.services import stream_note_create

        target = target_for_object(device)
        for step in range(16):
            lat = Decimal("59.3300") + Decimal(step * 11 + (step % 3) * 4) / 10000
            lon = Decimal("18.0600") + Decimal(step * 23 - (step % 4) * 9) / 10000
            timestamp = self.now - timedelta(hours=24 - step * 1.5)
            device_location_create(user=self.owner, target=target, lat=lat, lon=lon, timestamp=timestamp)
        property_create(user=self.owner, target=target, name="site", value="Reservoir A, inlet chamber")
        stream_note_create(user=self.owner, target=target, note="Flow sensor cleaned and resealed.")

    def archive(self, device):
        """The device's deployment archived into a block by the real worker."""
        from server.apps.datablock.services import datablock_create

        block = datablock_create(
            user=self.owner,
            device=device,
            title="Winter survey",
            description="The bypass meter's readings from the winter survey, archived before it moved to Reservoir B.",
        )
        self.process()
        block.refresh_from_db()
        return block

    @staticmethod
    def process():
        from server.apps.worker.runner import run_worker

        run_worker(burst=True)


@pytest.mark.browser
def test_screenshots(page, live_server, sign_in, folder_stores):
    demo = Demo()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(VIEWPORT)
    sign_in(demo.owner)

    def shoot(url: str, name: str) -> None:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        print(f"saved docs/screenshots/{name}.png")

    shoot(f"/org/{demo.org.slug}/", "org")
    shoot(f"/org/{demo.org.slug}/device/{demo.inlet.slug}/", "device")
    project = demo.inlet.project
    shoot(f"/org/{demo.org.slug}/project/{project.slug}/", "project")
    shoot(f"/org/{demo.org.slug}/device/{demo.inlet.slug}/locations/", "locations")
    shoot(f"/org/{demo.org.slug}/datablock/{demo.block.slug}/", "datablock")
    sign_in(demo.staff)
    shoot("/staff/", "staff")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider", "--rootdir", str(REPO_ROOT)]))
