"""Telemetry benchmark: messages per second of three data points each, over HTTP through gunicorn and over MQTT through
the bridge, with the latency from sending a message to its stored row, beside ThingsBoard's published single-node
figure.

    python bench/telemetry.py [--messages 3000] [--devices 50] [--clients 4] [--gunicorn-workers 2]
                              [--phases sql,http,http-inner,mqtt] [--forward]

Everything runs on this machine, on throw-away ``bench_*`` databases (see _setup.py):

- **sql** (the baseline): ``--clients`` threads, each with its own two database connections, store each message the
  barest way the platform could: one ``INSERT`` of its raw row committed on the default database, then one ``INSERT``
  of its three values committed on the streamdata database, with no web server, no Django and no look-ups. It is the
  floor the other phases stand on: two commits per message on this machine's PostgreSQL;
- **http**: ``--clients`` threads, each on its own keep-alive connection, POST
  ``{"ts": …, "values": {"temperature", "humidity", "pressure"}}`` to ``/api/v1/<device token>/telemetry`` on
  gunicorn (``--gunicorn-workers`` sync workers, the shipped configuration otherwise). The request answers after the
  raw message and its values are committed, so the request's time is the latency to a stored row;
- **http-inner**: the same requests through Django's test client in this process (the whole request without the
  HTTP server and the network);
- **mqtt**: one paho client per device (its own login on a Mosquitto of the benchmark's own, dynamic security)
  publishes the same JSON at QoS 1 on ``devices/<slug>/telemetry``; ``manage.py mqtt_bridge`` ingests them in
  batches. The latency is from the publish to the moment a reader polling the raw message log every 10 ms sees the
  row (a bridge commits its batch in one transaction, so the row and its values become visible together).

``--forward`` adds a file destination to the organisation and maps every device to a logical device, so each
message is also routed and put in the forwarding outbox in the same transaction (docs/forwarding.md).

``bench CPU ms/msg`` is this process's own CPU per message: the HTTP clients share the machine with the server, and
this says how much of it they take.

Throttling is off (the test settings); rates are messages per second and data points per second (3 per message), the
ratio is against ThingsBoard's published single-node figure: 5,000 messages/s of 3 data points (15,000 data
points/s) on an m6a.large (2 vCPU, 8 GB) with PostgreSQL and Kafka at 95 % CPU (its published AWS sizing). That
machine runs nothing else; this one may be shared (the load average is printed). Compare figures within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _setup import ROOT, bench_databases, django_setup, subprocess_env, table

THINGSBOARD_MESSAGES = 5000.0  # messages/s of 3 data points on 2 vCPU, PostgreSQL + Kafka (ThingsBoard's sizing)
POINTS = 3
TS0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, in milliseconds


def body(number: int) -> dict:
    return {
        "ts": TS0 + number * 1000,
        "values": {"temperature": 20 + number % 7, "humidity": 40 + number % 11, "pressure": 1000 + number % 13},
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def setup(devices: int, forward: bool):
    from django.db.models import F

    from server.apps.core.testing import make_org, make_user
    from server.apps.device.models import Device
    from server.apps.deviceauth.services import device_token_issue
    from server.apps.project.services import project_create
    from server.apps.staff.services import devices_create_batch

    staff = make_user(is_staff=True)
    org = make_org(name="Bench")
    project = project_create(org=org, name="Sensors", created_by=org.created_by)
    ids = [device.pk for device in devices_create_batch(created_by=staff, count=devices)]
    Device.objects.filter(pk__in=ids).update(org=org, project=project, claimed_on=F("created_on"))
    fleet = list(Device.objects.filter(pk__in=ids).select_related("org", "project").order_by("id"))
    if forward:
        from server.apps.forwarding.services import destination_create
        from server.apps.telemetry.services.mapping import (
            logical_device_create,
            mapping_start,
            physical_device_create,
        )

        destination_create(user=org.created_by, org=org, name="Files", kind="file", prefix="bench")
        for device in fleet:
            physical = physical_device_create(user=org.created_by, device=device, source_name="http")
            logical = logical_device_create(user=org.created_by, project=project, name=f"L {device.slug}")
            mapping_start(user=org.created_by, physical=physical, logical=logical)
    tokens = {device.slug: device_token_issue(user=org.created_by, device=device) for device in fleet}
    return org, fleet, tokens


def stored_rows(org) -> tuple[int, int, int]:
    """Raw messages, stored values and forwarding outbox rows of the benchmark's organisation."""
    from django.db.models import Func, IntegerField, Sum

    from server.apps.forwarding.models import Delivery
    from server.apps.telemetry.models import RawMessage

    raws = RawMessage.objects.filter(org=org)
    values = raws.aggregate(n=Sum(Func("data_ids", function="cardinality", output_field=IntegerField())))["n"]
    return raws.count(), values or 0, Delivery.objects.filter(destination__org=org).count()


def empty(org) -> None:
    from django.db import connections

    from server.apps.forwarding.models import Delivery
    from server.apps.telemetry.models import RawMessage

    RawMessage.objects.filter(org=org).delete()
    Delivery.objects.filter(destination__org=org).delete()
    with connections["streamdata"].cursor() as cursor:
        cursor.execute("TRUNCATE streamdata_streamdata")


def start_gunicorn(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "server.config.wsgi:application",
        "-c",
        "gunicorn.conf.py",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn stopped: {server.stderr.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def in_threads(client, clients: int) -> float:
    """Run ``client(offset)`` for each offset in its own thread; the seconds until the last one ends."""
    threads = [threading.Thread(target=client, args=(offset,)) for offset in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def run_sql(org, fleet, messages: int, clients: int) -> dict:
    import uuid

    import psycopg2
    from django.db import connections
    from django.utils import timezone

    def connect(alias: str):
        config = connections[alias].settings_dict
        return psycopg2.connect(
            dbname=config["NAME"],
            user=config["USER"],
            password=config["PASSWORD"] or None,
            host=config["HOST"] or None,
            port=config["PORT"] or None,
        )

    latencies: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        default, data = connect("default"), connect("streamdata")
        mine = []
        with default.cursor() as raw_cursor, data.cursor() as data_cursor:
            for number in range(offset, messages, clients):
                device = fleet[number % len(fleet)]
                payload = body(number)
                began = time.perf_counter()
                raw_cursor.execute(
                    "INSERT INTO telemetry_rawmessage (correlation_id, source, source_message_id, org_id, device_id, "
                    "received_at, body, status, error, data_ids) VALUES (%s, 'http', %s, %s, %s, %s, %s, 'unmapped', "
                    "'', '{}')",
                    [str(uuid.uuid4()), f"sql:{number}", str(org.pk), device.pk, timezone.now(), json.dumps(payload)],
                )
                default.commit()
                moment = timezone.now()
                data_cursor.execute(
                    "INSERT INTO streamdata_streamdata (series, timestamp, value, streamer_local_id, status, type, "
                    "dirty_ts) VALUES " + ", ".join(["(%s, %s, %s, 0, 'unk', 'Num', false)"] * POINTS),
                    [item for key in payload["values"] for item in (device.pk, moment, payload["values"][key])],
                )
                data.commit()
                mine.append(time.perf_counter() - began)
        default.close()
        data.close()
        with lock:
            latencies.extend(mine)

    span = in_threads(client, clients)
    return {"done": len(latencies), "span": span, "latencies": latencies}


def stored_sql_values() -> int:
    from django.db import connections

    with connections["streamdata"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM streamdata_streamdata")
        return cursor.fetchone()[0]


def run_http(tokens: dict[str, str], messages: int, clients: int, port: int) -> dict:
    import http.client

    slugs = list(tokens)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        for number in range(offset, messages, clients):
            token = tokens[slugs[number % len(slugs)]]
            payload = json.dumps(body(number))
            began = time.perf_counter()
            connection.request("POST", f"/api/v1/{token}/telemetry", payload, {"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
            mine.append(time.perf_counter() - began)
            if response.status != 200:
                with lock:
                    failures.append(f"{response.status}: {answer[:200]!r}")
        connection.close()
        with lock:
            latencies.extend(mine)

    span = in_threads(client, clients)
    if failures:
        print(f"http: {len(failures)} failed, e.g. {failures[0]}", file=sys.stderr)
    return {"done": len(latencies) - len(failures), "span": span, "latencies": latencies}


def run_http_inner(tokens: dict[str, str], messages: int) -> dict:
    from rest_framework.test import APIClient

    slugs = list(tokens)
    client = APIClient()
    latencies = []
    failures = 0
    began = time.perf_counter()
    for number in range(messages):
        token = tokens[slugs[number % len(slugs)]]
        start = time.perf_counter()
        response = client.post(f"/api/v1/{token}/telemetry", json.dumps(body(number)), content_type="application/json")
        latencies.append(time.perf_counter() - start)
        failures += response.status_code != 200
    return {"done": messages - failures, "span": time.perf_counter() - began, "latencies": latencies}


def run_mqtt(org, fleet, messages: int, broker, env: dict[str, str]) -> dict:
    import paho.mqtt.client as mqtt

    from server.apps.operation.services.credentials import device_mqtt_logins_provision
    from server.apps.operation.transports.mqtt import BrokerAddress, broker_address, new_client
    from server.apps.telemetry.models import RawMessage

    logins = device_mqtt_logins_provision(devices=fleet)
    bridge = subprocess.Popen(
        [sys.executable, "manage.py", "mqtt_bridge", "--client-id", "bench-bridge"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert bridge.stdout is not None
    if "subscribed" not in bridge.stdout.readline():
        sys.exit("the bridge did not start")
    address = broker_address(broker.platform_url)
    clients = []
    for slug, password in logins.items():
        device_client = new_client(BrokerAddress(address.host, address.port, slug, password, address.tls), slug)
        device_client.connect(address.host, address.port)
        device_client.loop_start()
        clients.append((slug, device_client))
    time.sleep(1.0)  # connected
    published: dict[str, float] = {}
    seen: dict[str, float] = {}
    watermark = RawMessage.objects.filter(source="mqtt").order_by("-id").values_list("id", flat=True).first() or 0
    done = threading.Event()

    def watch() -> None:
        nonlocal watermark
        from django.db import connection

        while not done.is_set():
            rows = list(
                RawMessage.objects.filter(source="mqtt", id__gt=watermark).values_list("id", "source_message_id")
            )
            now = time.time()
            for row_id, source_id in rows:
                seen[source_id.rsplit(":", 1)[1]] = now
                watermark = max(watermark, row_id)
            if len(seen) >= messages:
                break
            time.sleep(0.01)
        connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    began = time.time()
    for number in range(messages):
        slug, device_client = clients[number % len(clients)]
        message_id = f"m{number}"
        payload = json.dumps({**body(number), "msg_id": message_id})
        published[message_id] = time.time()
        device_client.publish(f"devices/{slug}/telemetry", payload, qos=1)
    deadline = time.time() + 300
    while len(seen) < messages and time.time() < deadline:
        time.sleep(0.1)
    done.set()
    watcher.join()
    for _, device_client in clients:
        device_client.loop_stop()
        device_client.disconnect()
    stop(bridge)
    latencies = [seen[key] - published[key] for key in seen if key in published]
    last = max(seen.values(), default=began)
    return {"done": len(seen), "span": max(last - began, 1e-9), "latencies": latencies, "mqtt": mqtt.__name__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP connections")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--phases", default="sql,http,http-inner,mqtt")
    parser.add_argument("--forward", action="store_true", help="map the devices and forward to a file destination")
    options = parser.parse_args()
    phases = options.phases.split(",")
    django_setup()
    from contextlib import nullcontext

    from server.apps.operation.testing import mosquitto_broker

    results = []
    with (
        bench_databases(),
        tempfile.TemporaryDirectory() as data_dir,
        mosquitto_broker() if "mqtt" in phases else nullcontext() as broker,
    ):
        from django.conf import settings
        from django.db import connections

        env = {**subprocess_env(Path(data_dir)), "WEB_CONCURRENCY": str(options.gunicorn_workers)}
        if broker is not None:
            settings.MQTT_ADMIN_URL = broker.admin_url
            env.update(MQTT_URL=broker.platform_url, MQTT_ADMIN_URL=broker.admin_url)
        org, fleet, tokens = setup(options.devices, options.forward)
        for phase in phases:
            empty(org)
            connections.close_all()
            cpu_before = time.process_time()
            if phase == "sql":
                result = run_sql(org, fleet, options.messages, options.clients)
            elif phase == "http":
                port = free_port()
                server = start_gunicorn(port, options.gunicorn_workers, env)
                try:
                    result = run_http(tokens, options.messages, options.clients, port)
                finally:
                    stop(server)
            elif phase == "http-inner":
                result = run_http_inner(tokens, options.messages)
            elif phase == "mqtt":
                result = run_mqtt(org, fleet, options.messages, broker, env)
            else:
                sys.exit(f"unknown phase {phase}")
            result["client_cpu"] = time.process_time() - cpu_before
            raws, values, outbox = stored_rows(org)
            if phase == "sql":  # the baseline's raw rows name no values
                values = stored_sql_values()
            result.update(phase=phase, raws=raws, values=values, outbox=outbox, load=os.getloadavg()[0])
            results.append(result)

    rows = [
        [
            "phase",
            "stored msgs",
            "values",
            "outbox",
            "msgs/s",
            "points/s",
            "vs sql",
            "vs ThingsBoard",
            "p50 ms",
            "p99 ms",
            "bench CPU ms/msg",
            "load",
        ]
    ]
    floor = next((r["done"] / r["span"] for r in results if r["phase"] == "sql" and r["span"]), None)
    for r in results:
        rate = r["done"] / r["span"] if r["span"] else 0.0
        rows.append(
            [
                r["phase"],
                f"{r['raws']}/{options.messages}",
                str(r["values"]),
                str(r["outbox"]),
                f"{rate:,.0f}",
                f"{rate * POINTS:,.0f}",
                f"{rate / floor:.2f}x" if floor else "-",
                f"{rate / THINGSBOARD_MESSAGES:.3f}x",
                f"{statistics.median(r['latencies']) * 1000:.1f}" if r["latencies"] else "-",
                f"{percentile(r['latencies'], 0.99) * 1000:.1f}",
                f"{r['client_cpu'] / max(r['done'], 1) * 1000:.2f}",
                f"{r['load']:.1f}",
            ]
        )
    rows.append(
        [
            "ThingsBoard (published)",
            "-",
            "-",
            "-",
            f"{THINGSBOARD_MESSAGES:,.0f}",
            f"{THINGSBOARD_MESSAGES * POINTS:,.0f}",
            "-",
            "1.00x",
            "-",
            "-",
            "-",
            "-",
        ]
    )
    print(
        f"{options.messages} messages of {POINTS} data points, {options.devices} devices"
        f"{', routed and forwarded' if options.forward else ''}; {os.cpu_count()} CPUs"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
