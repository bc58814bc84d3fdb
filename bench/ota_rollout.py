"""OTA rollout benchmark: what confirming a deployment costs the platform per device, and how that grows with the
fleet.

    python bench/ota_rollout.py [--devices 100,1000]

For each fleet size N (in throw-away ``bench_*`` databases, see _setup.py) it makes a fleet of N devices and a
released deployment whose side effect is app 2049 v2.1, then every device reports that version: the
``DeviceVersionsUpdate`` action's service, ``device_versions_update``, stores the version, confirms the device's
action and, with the last device, completes the deployment. Side by side, the baseline: the same N version reports
with no deployment open (storing the version only). It prints, per N, the CPU time (this process) and wall time per
device for both, their ratio, the queries per device, the growth from the smallest N, the campaign page's
``status.json`` selector time, and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import datetime
import os
import time

from _setup import bench_databases, django_setup, table

APP_TAG = 2049


def _value(version: str) -> int:
    major, minor = (int(part) for part in version.split("."))
    return APP_TAG | (minor << 20) | (major << 26)


def _org_with_devices(count: int):
    from server.apps.core.testing import make_member, make_org
    from server.apps.device.models import Device
    from server.apps.org.roles import DEVELOPER
    from server.apps.project.services import project_create

    org = make_org()
    project = project_create(org=org, name="Bench", created_by=org.created_by)
    start = (Device.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    devices = Device.objects.bulk_create(
        [
            Device(
                id=start + i,
                slug=f"d--{0:04x}-{0:04x}-{(start + i) >> 16:04x}-{(start + i) & 0xFFFF:04x}",
                org=org,
                project=project,
            )
            for i in range(count)
        ]
    )
    return org, devices, make_member(org, DEVELOPER)


def _report_all(devices, version: str) -> tuple[float, float, int]:
    """Every device reports ``version``; returns CPU seconds, wall seconds and queries."""
    from django.db import connection

    from server.apps.ota.services import VersionReading, device_versions_update

    moment = datetime.datetime.now(datetime.UTC)
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        cpu, wall = time.process_time(), time.perf_counter()
        for device in devices:
            reading = VersionReading(0x5C09, _value(version), 1, moment)
            device_versions_update(device_id=device.id, readings=[reading])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu, wall, queries


def run(count: int) -> dict[str, float]:
    from django.utils import timezone

    from server.apps.fleet.services import fleet_create, fleet_device_register
    from server.apps.ota.models import DeploymentRequest
    from server.apps.ota.selectors import deployment_campaign
    from server.apps.ota.services import deployment_create, script_create

    # Baseline: versions stored, no deployment open.
    _org, plain_devices, _user = _org_with_devices(count)
    base_cpu, base_wall, base_queries = _report_all(plain_devices, "2.1")

    org, devices, user = _org_with_devices(count)
    fleet = fleet_create(user=user, org=org, name="Bench fleet")
    for device in devices:
        fleet_device_register(user=user, fleet=fleet, device=device)
    script = script_create(user=user, org=org, name="Firmware", version="2.1.0", content=b"trub", file_name="fw.trub")
    deployment = deployment_create(
        user=user,
        script=script,
        fleet=fleet,
        selection_criteria=[f"app_tag:eq:{APP_TAG}"],
        side_effect={"app_tag": APP_TAG, "app_version": "2.1"},
        released_on=timezone.now(),
    )
    cpu, wall, queries = _report_all(devices, "2.1")
    assert DeploymentRequest.objects.get(pk=deployment.pk).completed_on is not None, "not completed"
    start = time.perf_counter()
    campaign = deployment_campaign(deployment=deployment)
    campaign_seconds = time.perf_counter() - start
    assert campaign["counts"][0]["count"] == count
    return {
        "cpu": cpu / count,
        "wall": wall / count,
        "queries": queries / count,
        "base_cpu": base_cpu / count,
        "base_wall": base_wall / count,
        "base_queries": base_queries / count,
        "campaign": campaign_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="100,1000", help="fleet sizes, comma-separated")
    options = parser.parse_args()
    sizes = [int(size) for size in options.devices.split(",")]
    django_setup()
    from django.test.utils import override_settings

    with bench_databases(), override_settings(STORES={}), _folder_stores():
        results = {size: run(size) for size in sizes}
    first = results[sizes[0]]
    rows = [
        [
            "devices",
            "confirm cpu ms/dev",
            "baseline cpu ms/dev",
            "ratio",
            "wall ms/dev",
            "queries/dev",
            "baseline queries/dev",
            f"cpu/dev vs {sizes[0]}",
            "status.json ms",
        ]
    ]
    for size, figures in results.items():
        rows.append(
            [
                str(size),
                f"{figures['cpu'] * 1000:.2f}",
                f"{figures['base_cpu'] * 1000:.2f}",
                f"{figures['cpu'] / figures['base_cpu']:.2f}x",
                f"{figures['wall'] * 1000:.2f}",
                f"{figures['queries']:.1f}",
                f"{figures['base_queries']:.1f}",
                f"{figures['cpu'] / first['cpu']:.2f}x",
                f"{figures['campaign'] * 1000:.0f}",
            ]
        )
    print(table(rows))
    print("load average: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))


def _folder_stores():
    """Every store a folder in a temporary directory (the script's file is saved there)."""
    import contextlib
    import tempfile
    from pathlib import Path

    from django.test.utils import override_settings

    from server.apps.stores.config import parse_store_configuration

    @contextlib.contextmanager
    def stores():
        with (
            tempfile.TemporaryDirectory() as folder,
            override_settings(STORES=parse_store_configuration("", data_dir=Path(folder))),
        ):
            yield

    return stores()


if __name__ == "__main__":
    main()
