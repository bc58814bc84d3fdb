"""Configuration on connect at fleet scale: N simulated devices connect to a real Mosquitto at once; each gets its
configuration and confirms it. Measures completed round trips per second and the latency from a device's connect
to its operation's SUCCEEDED, with the bridge and the worker as subprocesses on this machine (throw-away
databases, a broker of its own with dynamic security).

Phases, in the same run, each with fresh connections of the whole fleet:

* ``batched``: the bridge as shipped (up to 500 messages per transaction);
* ``unbatched``: the same bridge writing one message per transaction (``--batch-size 1``), the earlier design;
* ``aws``: the batched bridge with the devices answering after 10 s, as the AWS sample's simulator does; the AWS
  sample itself needs at least those 10 s per round trip (and fails a device silent for its 12 s heartbeat).

    python bench/device_channel.py [--devices 1000] [--phases batched,unbatched,aws] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _setup import ROOT, bench_databases, django_setup, subprocess_env, table

AWS_SIMULATOR_DELAY = 10.0
AWS_HEARTBEAT = 12


def setup_fleet(count: int):
    from django.db.models import F

    from server.apps.configattribute.services import config_attribute_create, config_name_create
    from server.apps.core.targets import target_for_object
    from server.apps.core.testing import make_org, make_user
    from server.apps.device.models import Device
    from server.apps.project.services import project_create
    from server.apps.staff.services import devices_create_batch

    staff = make_user(is_staff=True)
    org = make_org(name="Fleet")
    project = project_create(org=org, name="Thermostats", created_by=org.created_by)
    ids = []
    for start in range(0, count, 500):
        ids += [device.pk for device in devices_create_batch(created_by=staff, count=min(500, count - start))]
    # Claimed in one statement: the set-up is not what is measured.
    Device.objects.filter(pk__in=ids).update(org=org, project=project, claimed_on=F("created_on"))
    config_name_create(created_by=staff, name=":temperature")
    config_attribute_create(user=org.created_by, target=target_for_object(project), name=":temperature", data=21)
    return list(Device.objects.filter(pk__in=ids).select_related("org", "project"))


def start(args: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, **kwargs)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def run_phase(name: str, *, broker, logins, env, bridge_batch: int, reply_delay: float, timeout: float) -> dict:
    from django.db import connections

    from server.apps.operation.models import DeviceOperation, OperationStatus
    from server.apps.operation.simulator import MqttFleet
    from server.apps.operation.transports.mqtt import broker_address

    bridge = start(
        ["mqtt_bridge", "--batch-size", str(bridge_batch), "--client-id", "bench-bridge"],
        env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert bridge.stdout is not None
    if "subscribed" not in bridge.stdout.readline():  # the devices connect once the bridge listens
        sys.exit("the bridge did not start")
    fleet = MqttFleet(broker=broker_address(broker.platform_url), logins=logins, mode="answer", reply_delay=reply_delay)
    began = datetime.now(UTC)
    connect_wall: dict[str, float] = {}
    for slug in fleet.clients:
        connect_wall[slug] = time.time()
        fleet.connect([slug])
    count = len(logins)
    done = 0
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        fleet.run(seconds=0.5)
        done = DeviceOperation.objects.filter(
            kind="config", created_on__gte=began, status=OperationStatus.SUCCEEDED
        ).count()
        if done >= count:
            break
    rows = list(
        DeviceOperation.objects.filter(kind="config", created_on__gte=began, status=OperationStatus.SUCCEEDED)
        .select_related("device")
        .values_list("device__slug", "closed_on")
    )
    if len(rows) < count:
        from django.db.models import Count

        from server.apps.worker.models import WorkerRun

        statuses = DeviceOperation.objects.filter(kind="config", created_on__gte=began).values("status")
        print(f"{name}: unfinished: {list(statuses.annotate(n=Count('id')))}", file=sys.stderr)
        print(list(WorkerRun.objects.exclude(status="success").values("action", "error")[:3]), file=sys.stderr)
    latencies = sorted(closed.timestamp() - connect_wall[slug] for slug, closed in rows)
    first_connect = min(connect_wall.values())
    last_close = max((closed.timestamp() for _, closed in rows), default=first_connect)
    fleet.disconnect(clean=True)
    fleet.run(seconds=2)
    stop(bridge)
    connections.close_all()
    span = max(last_close - first_connect, 1e-9)
    return {
        "phase": name,
        "done": len(rows),
        "count": count,
        "per_second": len(rows) / span,
        "span": span,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan"),
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--phases", default="batched,unbatched,aws")
    parser.add_argument("--timeout", type=float, default=300.0, help="Seconds a phase may take at most.")
    options = parser.parse_args()
    django_setup()
    from server.apps.operation.services.credentials import device_mqtt_logins_provision
    from server.apps.operation.testing import mosquitto_broker

    with bench_databases(), mosquitto_broker() as broker, tempfile.TemporaryDirectory() as data_dir:
        from django.conf import settings

        settings.MQTT_ADMIN_URL = broker.admin_url
        devices = setup_fleet(options.devices)
        logins = device_mqtt_logins_provision(devices=devices)
        env = {
            **subprocess_env(Path(data_dir)),
            "MQTT_URL": broker.platform_url,
            "MQTT_ADMIN_URL": broker.admin_url,
            "WORKER_POLL_INTERVAL": "0.1",
            "CONFIG_ON_CONNECT_HEARTBEAT_SECONDS": str(AWS_HEARTBEAT + 60),
        }
        workers = [start(["worker", "--wait", "1"], env) for _ in range(options.workers)]
        results = []
        try:
            for phase in options.phases.split(","):
                results.append(
                    run_phase(
                        phase,
                        broker=broker,
                        logins=logins,
                        env=env,
                        bridge_batch=1 if phase == "unbatched" else 500,
                        reply_delay=AWS_SIMULATOR_DELAY if phase == "aws" else 0.0,
                        timeout=options.timeout,
                    )
                )
        finally:
            for worker in workers:
                stop(worker)
    batched = next((r for r in results if r["phase"] == "batched"), None)
    rows = [["phase", "completed", "round trips/s", "vs batched", "p50 s", "p99 s", "span s", "load avg"]]
    for r in results:
        ratio = f"{r['per_second'] / batched['per_second']:.2f}x" if batched and batched["per_second"] else "-"
        rows.append(
            [
                r["phase"],
                f"{r['done']}/{r['count']}",
                f"{r['per_second']:.1f}",
                ratio,
                f"{r['p50']:.2f}",
                f"{r['p99']:.2f}",
                f"{r['span']:.1f}",
                f"{r['load']:.1f}",
            ]
        )
    rows.append(
        [
            "AWS sample (its own timing)",
            "-",
            "-",
            "-",
            f">= {AWS_SIMULATOR_DELAY:.0f}",
            f">= {AWS_SIMULATOR_DELAY:.0f}",
            "-",
            "-",
        ]
    )
    print(f"\nConfiguration on connect, {options.devices} devices connecting at once, {options.workers} worker(s)")
    print(table(rows))
    print(
        f"The AWS sample's simulator answers {AWS_SIMULATOR_DELAY:.0f} s after the request and its heartbeat is "
        f"{AWS_HEARTBEAT} s, so none of its round trips completes under {AWS_SIMULATOR_DELAY:.0f} s; the aws phase "
        "plays the same 10 s device, so its p50 minus 10 s is this platform's own cost."
    )


if __name__ == "__main__":
    main()
