"""A real Mosquitto with the dynamic-security plugin for the MQTT tests, on a free port, with its own admin and
platform logins; and the bridge running in a thread against it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.apps.operation.bridge import MqttBridge
from server.apps.operation.transports.dynsec import broker_admin_run, platform_login_commands

MOSQUITTO = "/usr/sbin/mosquitto"
PLUGIN_NAMES = ("mosquitto_dynamic_security.so",)
PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib")


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    admin_url: str
    platform_url: str


def _plugin() -> str | None:
    for directory in PLUGIN_DIRS:
        for name in PLUGIN_NAMES:
            path = Path(directory) / name
            if path.exists():
                return str(path)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not open its port")


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Broker]:
    from conftest import skip_or_fail

    plugin, ctrl = _plugin(), shutil.which("mosquitto_ctrl")
    if not os.path.exists(MOSQUITTO) or plugin is None or ctrl is None:
        skip_or_fail("mosquitto with the dynamic-security plugin (and mosquitto_ctrl) is not installed")
    # Mosquitto started as root runs as its own user, which must read and save the plugin's file: a folder
    # everyone can reach (pytest's own are private).
    folder = Path(tempfile.mkdtemp(prefix="mosquitto-"))
    folder.chmod(0o777)
    config = folder / "dynsec.json"
    subprocess.run([ctrl, "dynsec", "init", str(config), "admin", "admin-secret"], check=True, capture_output=True)
    config.chmod(0o666)
    port = _free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\nplugin {plugin}\n"
        f"plugin_opt_config_file {config}\npersistence false\nmax_queued_messages 100000\n"
    )
    log = (folder / "mosquitto.log").open("w")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process)
        admin_url = f"mqtt://admin:admin-secret@127.0.0.1:{port}"
        broker_admin_run(admin_url, platform_login_commands("platform", "platform-secret"))
        yield Broker("127.0.0.1", port, admin_url, f"mqtt://platform:platform-secret@127.0.0.1:{port}")
    except RuntimeError as exc:
        skip_or_fail(f"mosquitto cannot start: {exc}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def broker(mosquitto, settings) -> Broker:
    settings.MQTT_URL = mosquitto.platform_url
    settings.MQTT_ADMIN_URL = mosquitto.admin_url
    return mosquitto


@pytest.fixture
def bridge(broker, transactional_db) -> Iterator[MqttBridge]:
    """The bridge in a thread, subscribed before the test goes on; stopped (its queue drained) afterwards."""
    # A clean session: a persistent one would stay in the shared group after the test and take its share of the
    # next test's messages.
    running = MqttBridge(
        url=broker.platform_url, client_id=f"bridge-{time.monotonic_ns()}", batch_wait=0.02, persistent=False
    )
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    assert running.subscribed.wait(10), "the bridge did not subscribe"
    yield running
    running.stop()
    thread.join(timeout=20)
