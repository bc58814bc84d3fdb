"""A short crash soak: reports uploaded over HTTP while the worker is SIGKILLed at random and PostgreSQL is restarted
once (an immediate shutdown: connections cut, crash recovery on start), then exact counts: every reading stored
once, every report succeeded, ``last_id`` at the last reading. Throughout, ``last_id`` never covers a reading that is
not stored.

It runs on a PostgreSQL cluster of its own (pgserver, in a temporary folder), so restarting it disturbs no other
test; the cluster gets a copy of this test's databases (schema and fixtures, ``pg_dump``). The web server
(``runserver``) and the workers run as subprocesses on it, with 2-second leases. Bounded to about two minutes.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import psycopg2
import pytest
import requests
from rest_framework.authtoken.models import Token

from server.apps.device.tests.factories import make_device
from server.apps.streamer.reports import build_signed_list_report
from server.apps.streamer.tests.factories import RECEIVED, _device_ids, make_ingest
from server.apps.worker.tests.conftest import REPO_ROOT, database_url

DEVICES = 2
REPORTS_PER_DEVICE = 12
READINGS_PER_REPORT = 3000
# Each device's reading ids are its own range, so ids alone tell the devices' rows apart.
ID_BASE = 1_000_000
STREAMS = (0x5001, 0x5002, 0x5003)
LEASE_SECONDS = "2"
# A kill strands the messages its worker held, and each delivery counts against ProcessReport's five attempts (the
# restart can cost one more): three kills can never turn a message into a dead letter.
MAX_KILLS = 3
START_TIMEOUT = 60
DRAIN_TIMEOUT = 150
SEED = 14


def _pg_bin() -> Path:
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


# Column options of a server's own making (a build that stamps each column with pg_attver=…), which another server's
# psql refuses as unknown; the project sets no column options.
_FOREIGN_COLUMN_OPTIONS = re.compile(rb"^ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(pg_attver=\d+\);\n", re.MULTILINE)


def _url(socket_dir: str, port: int, name: str) -> str:
    return f"postgres://postgres:@/{name}?{urlencode({'host': socket_dir, 'port': port})}"


class Cluster:
    """A PostgreSQL cluster of this test's own, with copies of the test's two databases."""

    def __init__(self, folder: Path) -> None:
        import pgserver

        self.pgdata = folder / "pgdata"
        self.server = pgserver.get_server(self.pgdata, cleanup_mode="delete")
        info = self.server.get_postmaster_info()
        self.socket_dir, self.port = str(info.socket_dir), int(info.port or 5432)
        self.names = {"default": "soak_default", "streamdata": "soak_streamdata"}
        for alias, name in self.names.items():
            self.server.psql(f'CREATE DATABASE "{name}";')
            dump = subprocess.run(
                [str(_pg_bin() / "pg_dump"), "--no-owner", "--dbname", database_url(alias)],
                capture_output=True,
                check=True,
            )
            subprocess.run(
                [str(_pg_bin() / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "--dbname", self.url(alias)],
                input=_FOREIGN_COLUMN_OPTIONS.sub(b"", dump.stdout),
                capture_output=True,
                check=True,
            )

    def url(self, alias: str) -> str:
        return _url(self.socket_dir, self.port, self.names[alias])

    def restart(self) -> None:
        """An immediate shutdown (every connection cut, no checkpoint) and a start with crash recovery."""
        from pgserver._commands import pg_ctl

        log = str(self.pgdata / "log")
        pg_ctl(["-w", "-m", "immediate", "-l", log, "restart"], pgdata=self.pgdata, user=self.server.system_user)

    def query(self, alias: str, sql: str, params=()) -> list[tuple]:
        connection = psycopg2.connect(self.url(alias))
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            connection.close()

    def stop(self) -> None:
        self.server.cleanup()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Workers:
    """One worker process at a time, SIGKILLed at random moments after it has settled something since it started,
    and replaced."""

    def __init__(self, env: dict[str, str], log: Path, cluster: Cluster, rng: random.Random) -> None:
        self.env, self.log, self.cluster, self.rng = env, log, cluster, rng
        self.process: subprocess.Popen | None = None
        self.kills = 0
        self.last_kill = 0.0
        self.stop = threading.Event()

    def start(self) -> None:
        with open(self.log, "a") as output:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "worker", "--no-scheduler"],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def settled(self) -> int:
        try:
            return self.cluster.query("default", "SELECT count(*) FROM worker_workerrun")[0][0]
        except psycopg2.Error:
            return -1  # the server is restarting

    def kill_at_random(self) -> None:
        """Until stopped or ``MAX_KILLS`` kills: let the worker settle at least one message, then kill it a random
        moment later, and start another."""
        self.start()
        while self.kills < MAX_KILLS:
            if self.stop.wait(self.rng.uniform(1.0, 4.0)):  # the kills spread over the uploads
                return
            before = self.settled()
            while not self.stop.is_set() and self.settled() <= before:
                time.sleep(0.1)
            if self.stop.wait(self.rng.uniform(0.0, 0.6)):
                return
            assert self.process is not None
            self.process.kill()
            self.process.wait()
            self.kills += 1
            self.last_kill = time.monotonic()
            self.start()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _upload(session: requests.Session, url: str, content: bytes, number: int) -> None:
    """Upload as a client does: retried until it is accepted (the server may be cut from its database)."""
    received = RECEIVED.replace(minute=number % 60, hour=12 + number // 60)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            response = session.post(
                f"{url}/api/v1/streamer/report/?timestamp={received.isoformat()}",
                files={"file": ("report.bin", content, "application/octet-stream")},
                timeout=30,
            )
            if response.status_code == 201:
                return
            assert response.status_code >= 500, (response.status_code, response.text[:500])
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the upload was never accepted"
        time.sleep(0.5)


def _acknowledged_readings_are_stored(cluster: Cluster, devices: list[int]) -> None:
    """Every streamer's ``last_id`` covers only stored readings: read it first, then count the rows up to it (rows
    are committed before their acknowledgement, never after)."""
    last_ids = dict(cluster.query("default", "SELECT device_id, last_id FROM streamer_streamer"))
    for number, device_id in enumerate(devices):
        last_id, base = last_ids.get(device_id, 0), ID_BASE * (number + 1)
        if last_id == 0:
            continue
        [(stored,)] = cluster.query(
            "streamdata",
            "SELECT count(*) FROM streamdata_streamdata WHERE streamer_local_id > %s AND streamer_local_id <= %s",
            [base, last_id],
        )
        assert stored == last_id - base, f"last_id {last_id} acknowledges {last_id - base - stored} unstored readings"


@pytest.fixture
def soak_folder():
    # Short: the cluster's unix socket lives in it.
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_crash_soak(transactional_db, soak_folder):
    rng = random.Random(SEED)
    ingest = make_ingest()
    devices = [ingest.device, *(make_device(ingest.project, id=next(_device_ids)) for _ in range(DEVICES - 1))]
    token = Token.objects.create(user=ingest.user).key
    reports = []  # (device number, content), in upload order: the devices' reports in turns
    for turn in range(REPORTS_PER_DEVICE):
        for number, device in enumerate(devices):
            first = ID_BASE * (number + 1) + turn * READINGS_PER_REPORT + 1
            ids = range(first, first + READINGS_PER_REPORT)
            rows = [(STREAMS[i % len(STREAMS)], i, 10 * (i - first + turn * READINGS_PER_REPORT), i) for i in ids]
            sent = rows[-1][2] + 10
            content = build_signed_list_report(device.id, rows, report_id=ids[-1], sent_timestamp=sent)
            reports.append((number, content))
    total = len(reports) * READINGS_PER_REPORT

    cluster = Cluster(soak_folder)
    workers = None
    server = None
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "server.config.settings.test",
            "DATABASE_URL": cluster.url("default"),
            "STREAMDATA_DATABASE_URL": cluster.url("streamdata"),
            "LOCAL_DATA_DIR": str(soak_folder),
            "WORKER_QUEUE": "postgres",
            "WORKER_LEASE_SECONDS": LEASE_SECONDS,
            "STREAMDATA_WRITE_CONNECTIONS": "2",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        }
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with open(soak_folder / "server.log", "w") as output:
            server = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=REPO_ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                session.get(f"{url}/api/v1/", timeout=5)
                break
            except requests.RequestException:
                assert server.poll() is None, (soak_folder / "server.log").read_text()
                assert time.monotonic() < deadline, "the web server did not answer"
                time.sleep(0.2)

        workers = Workers(env, soak_folder / "worker.log", cluster, rng)
        killer = threading.Thread(target=workers.kill_at_random)
        killer.start()
        restart_at = len(reports) // 3
        try:
            for number, (_, content) in enumerate(reports):
                if number == restart_at:
                    cluster.restart()
                _upload(session, url, content, number)
                _acknowledged_readings_are_stored(cluster, [device.id for device in devices])
                time.sleep(rng.uniform(0.2, 0.8))
            time.sleep(2)  # a last kill or two while the backlog drains
        finally:
            workers.stop.set()
            killer.join()
        # The last worker is left to drain the queue.
        drain_started = time.monotonic()
        deadline = drain_started + DRAIN_TIMEOUT
        while True:
            _acknowledged_readings_are_stored(cluster, [device.id for device in devices])
            [(pending,)] = cluster.query("default", "SELECT count(*) FROM worker_queuemessage")
            [(unfinished,)] = cluster.query(
                "default", "SELECT count(*) FROM streamer_streamerreport WHERE status <> 'success'"
            )
            if not pending and not unfinished:
                break
            assert time.monotonic() < deadline, (
                f"{pending} messages and {unfinished} reports left after {DRAIN_TIMEOUT} s:\n"
                + (soak_folder / "worker.log").read_text()[-5000:]
            )
            time.sleep(0.2)
        drained = time.monotonic() - workers.last_kill
        print(f"soak: {workers.kills} kills, 1 restart; drained {drained:.1f} s after the last kill")

        assert workers.kills >= 1
        [(rows, distinct)] = cluster.query(
            "streamdata", "SELECT count(*), count(DISTINCT streamer_local_id) FROM streamdata_streamdata"
        )
        assert (rows, distinct) == (total, total)  # none lost, none doubled
        expected_ids = set()
        for number in range(len(devices)):
            base = ID_BASE * (number + 1)
            expected_ids |= set(range(base + 1, base + REPORTS_PER_DEVICE * READINGS_PER_REPORT + 1))
        stored_ids = {
            row[0] for row in cluster.query("streamdata", "SELECT streamer_local_id FROM streamdata_streamdata")
        }
        assert stored_ids == expected_ids
        last_ids = dict(cluster.query("default", "SELECT device_id, last_id FROM streamer_streamer"))
        assert last_ids == {
            device.id: ID_BASE * (number + 1) + REPORTS_PER_DEVICE * READINGS_PER_REPORT
            for number, device in enumerate(devices)
        }
        reports_by_status = dict(
            cluster.query("default", "SELECT status, count(*) FROM streamer_streamerreport GROUP BY status")
        )
        assert reports_by_status == {"success": len(reports)}
        assert cluster.query("default", "SELECT count(*) FROM worker_deadletter") == [(0,)]
    finally:
        if workers is not None:
            workers.terminate()
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        cluster.stop()
