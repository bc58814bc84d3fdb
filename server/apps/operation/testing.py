"""A real Mosquitto with the dynamic-security plugin, on a free port, with its admin and platform logins: for the
tests (``tests/conftest.py``) and the benchmark (``bench/device_channel.py``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


class BrokerUnavailable(RuntimeError):
    pass


@contextmanager
def mosquitto_broker() -> Iterator[Broker]:
    """Start a broker of our own; :class:`BrokerUnavailable` when Mosquitto or its plugin is missing."""
    plugin, ctrl = _plugin(), shutil.which("mosquitto_ctrl")
    if not os.path.exists(MOSQUITTO) or plugin is None or ctrl is None:
        raise BrokerUnavailable("mosquitto with the dynamic-security plugin (and mosquitto_ctrl) is not installed")
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
        "max_inflight_messages 1000\n"
    )
    log = (folder / "mosquitto.log").open("w")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            _wait_for_port(port, process)
        except RuntimeError as exc:
            raise BrokerUnavailable(f"mosquitto cannot start: {exc}") from exc
        admin_url = f"mqtt://admin:admin-secret@127.0.0.1:{port}"
        broker_admin_run(admin_url, platform_login_commands("platform", "platform-secret"))
        yield Broker("127.0.0.1", port, admin_url, f"mqtt://platform:platform-secret@127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
