"""A Kanto desired state rolled out to a fleet over MQTT: N simulated Kanto devices on a real Mosquitto (dynamic
security), the bridge and a worker as subprocesses on this machine, throw-away databases. Each device gets the
document on ``devices/<slug>/update/desiredstate`` and answers as Kanto's update manager does (IDENTIFIED, RUNNING,
COMPLETED with an UPDATE_SUCCESS action per component, then its inventory on ``…/update/currentstate``).

Measured for each fleet size, from the request to the last device's COMPLETED (what an operator watching the
campaign page waits for): the wall time, and the platform's CPU time per device (this process's rollout request,
plus the bridge's and the worker's CPU over the phase, read from /proc). Beside it, in the same run and on the same
devices, the baseline: a plain ``config`` operation to every device of the project, answered SUCCESS at once (the
round trip ``bench/device_channel.py`` measures, with no Kanto feedback, progress or inventory).

    python bench/desired_state_rollout.py [--sizes 100,1000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import ROOT, bench_databases, django_setup, subprocess_env, table

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def start(args: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, **kwargs)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def setup_devices(count: int):
    from django.db.models import F

    from server.apps.core.testing import make_org, make_user
    from server.apps.device.models import Device
    from server.apps.fleet.tests.factories import ota_manager
    from server.apps.staff.services import devices_create_batch

    staff = make_user(is_staff=True)
    org = make_org(name="Edge fleet")
    ids = []
    for start_at in range(0, count, 500):
        ids += [device.pk for device in devices_create_batch(created_by=staff, count=min(500, count - start_at))]
    Device.objects.filter(pk__in=ids).update(org=org, claimed_on=F("created_on"))
    return org, ota_manager(org), list(Device.objects.filter(pk__in=ids).order_by("id").select_related("org"))


def wait_for(done, fleet, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        fleet.run(seconds=0.2)
        if done():
            return True
    return False


def run_phase(name: str, size: int, send, count_done, *, fleet, processes, timeout: float) -> dict:
    before = sum(cpu_seconds(p.pid) for p in processes)
    began = time.monotonic()
    in_process = time.process_time()
    send()
    request_cpu = time.process_time() - in_process
    finished = wait_for(lambda: count_done() >= size, fleet, timeout)
    wall = time.monotonic() - began
    platform_cpu = sum(cpu_seconds(p.pid) for p in processes) - before + request_cpu
    return {
        "phase": name,
        "size": size,
        "done": count_done(),
        "finished": finished,
        "wall": wall,
        "cpu_ms": 1000 * platform_cpu / size,
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--timeout", type=float, default=600.0)
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    django_setup()
    from server.apps.desiredstate.models import DeviceCurrentState
    from server.apps.desiredstate.services import desired_state_create
    from server.apps.desiredstate.tests.factories import TWO_CONTAINERS
    from server.apps.device.models import Device
    from server.apps.fleet.tests.factories import make_fleet
    from server.apps.operation.models import DeviceOperation, OperationStatus
    from server.apps.operation.services.credentials import device_mqtt_logins_provision
    from server.apps.operation.services.operations import operation_request_clean, operations_create
    from server.apps.operation.simulator import MqttFleet
    from server.apps.operation.testing import mosquitto_broker
    from server.apps.operation.transports.mqtt import broker_address
    from server.apps.project.services import project_create

    with bench_databases(), mosquitto_broker() as broker, tempfile.TemporaryDirectory() as data_dir:
        from django.conf import settings

        settings.MQTT_ADMIN_URL = broker.admin_url
        org, manager, devices = setup_devices(max(sizes))
        logins = device_mqtt_logins_provision(devices=devices)
        env = {
            **subprocess_env(Path(data_dir)),
            "MQTT_URL": broker.platform_url,
            "MQTT_ADMIN_URL": broker.admin_url,
            "WORKER_POLL_INTERVAL": "0.1",
        }
        bridge = start(["mqtt_bridge", "--client-id", "bench-bridge"], env, stdout=subprocess.PIPE, text=True)
        assert bridge.stdout is not None
        if "subscribed" not in bridge.stdout.readline():
            sys.exit("the bridge did not start")
        worker = start(["worker", "--wait", "1"], env)
        fleet = MqttFleet(broker=broker_address(broker.platform_url), logins=logins, mode="answer")
        fleet.connect()
        # Every device online (its configuration on connect done) before anything is measured.
        settled = wait_for(
            lambda: (
                DeviceOperation.objects.filter(kind="config", status=OperationStatus.SUCCEEDED).count() >= len(devices)
            ),
            fleet,
            options.timeout,
        )
        if not settled:
            sys.exit("the devices did not come online")
        request = operation_request_clean(kind="config", payload={":temperature": 21}, transport="mqtt")
        results = []
        try:
            for size in sizes:
                members = devices[:size]
                project = project_create(org=org, name=f"Edge {size}", created_by=org.created_by)
                Device.objects.filter(pk__in=[d.pk for d in members]).update(project=project)
                for device in members:
                    device.project = project
                target = make_fleet(org, f"Edge {size}", devices=members, user=manager)
                holder = {}

                def rollout(target=target, holder=holder):
                    holder["desired"] = desired_state_create(user=manager, fleet=target, document=TWO_CONTAINERS)

                def completed(holder=holder):
                    return DeviceOperation.objects.filter(
                        batch=holder["desired"].batch, status=OperationStatus.SUCCEEDED
                    ).count()

                results.append(
                    run_phase(
                        "desired state",
                        size,
                        rollout,
                        completed,
                        fleet=fleet,
                        processes=[bridge, worker],
                        timeout=options.timeout,
                    )
                )
                inventories = DeviceCurrentState.objects.filter(device__in=members).count()
                results[-1]["inventories"] = inventories

                def configure(members=members, holder=holder, request=request):
                    holder["config"] = operations_create(user=manager, devices=members, request=request)[0].batch

                def answered(holder=holder):
                    return DeviceOperation.objects.filter(
                        batch=holder["config"], status=OperationStatus.SUCCEEDED
                    ).count()

                results.append(
                    run_phase(
                        "config (baseline)",
                        size,
                        configure,
                        answered,
                        fleet=fleet,
                        processes=[bridge, worker],
                        timeout=options.timeout,
                    )
                )
        finally:
            fleet.close()
            stop(worker)
            stop(bridge)

    rows = [["phase", "devices", "completed", "wall s", "CPU ms/device", "vs baseline", "vs 100", "load avg"]]
    by_key = {(r["phase"], r["size"]): r for r in results}
    for r in results:
        baseline = by_key.get(("config (baseline)", r["size"]))
        smallest = by_key.get((r["phase"], min(sizes)))
        rows.append(
            [
                r["phase"],
                str(r["size"]),
                f"{r['done']}/{r['size']}" + (f" ({r['inventories']} inventories)" if "inventories" in r else ""),
                f"{r['wall']:.1f}",
                f"{r['cpu_ms']:.1f}",
                f"{r['cpu_ms'] / baseline['cpu_ms']:.2f}x" if baseline and baseline["cpu_ms"] else "-",
                f"{r['cpu_ms'] / smallest['cpu_ms']:.2f}x" if smallest and smallest["cpu_ms"] else "-",
                f"{r['load']:.1f}",
            ]
        )
    print("\nDesired state to a fleet over MQTT (request → every device COMPLETED), one bridge, one worker")
    print(table(rows))
    print(
        "CPU ms/device: this process's rollout request plus the bridge's and the worker's CPU during the phase, "
        "divided by the devices. Baseline: a config operation answered SUCCESS at once, on the same devices."
    )


if __name__ == "__main__":
    main()
