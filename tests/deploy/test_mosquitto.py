"""The compose stack's broker configuration (compose/mosquitto/), run with Debian's Mosquitto on a free port: the
first start creates the dynamic-security state with the admin login, anonymous clients and wrong passwords are
refused, and the compose health check's command succeeds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import skip_or_fail
from server.apps.core.testing_aws import _free_port
from server.config.healthcheck import mqtt_is_healthy
from tests.deploy.conftest import REPO_ROOT, wait_until

MOSQUITTO = REPO_ROOT / "compose" / "mosquitto"
PLUGIN = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")
PASSWORD = "admin-password-for-the-test"


def localised(config: str, *, port: int, data: Path) -> str:
    """The repository's mosquitto.conf with the image's paths and port replaced by this machine's."""
    lines = []
    for line in config.splitlines():
        if line.startswith("listener "):
            line = f"listener {port} 127.0.0.1"
        elif line.startswith("plugin "):
            line = f"plugin {PLUGIN}"
        line = line.replace("/mosquitto/data", str(data))
        lines.append(line)
    if os.geteuid() == 0:
        # As root, Mosquitto switches to its own user, who cannot enter pytest's private temporary folders.
        lines.append("user root")
    return "\n".join(lines) + "\n"


def subscribe_uptime(port: int, *credentials: str) -> subprocess.CompletedProcess[str]:
    """What the compose health check runs: one message from $SYS/broker/uptime."""
    command = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", "$SYS/broker/uptime", "-C", "1", "-W", "5"]
    return subprocess.run([*command, *credentials], capture_output=True, text=True, timeout=30)


@pytest.fixture
def broker(tmp_path):
    for tool in ("mosquitto", "mosquitto_ctrl", "mosquitto_sub"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} is not installed (Debian: apt-get install mosquitto mosquitto-clients)")
    if not PLUGIN.exists():
        skip_or_fail(f"{PLUGIN} is missing (Debian's mosquitto ships it)")
    port = _free_port()
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "mosquitto.conf"
    config.write_text(localised((MOSQUITTO / "mosquitto.conf").read_text(), port=port, data=data))
    environment = {
        "PATH": "/usr/sbin:/usr/bin:/bin",
        "MOSQUITTO_CONFIG": str(config),
        "MOSQUITTO_DYNSEC_FILE": str(data / "dynamic-security.json"),
        "MOSQUITTO_ADMIN_PASSWORD": PASSWORD,
    }
    process = subprocess.Popen(
        ["/bin/sh", str(MOSQUITTO / "start.sh")], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_until(lambda: subscribe_uptime(port, "-u", "admin", "-P", PASSWORD).returncode == 0, "the broker")
        yield port, data
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_first_start_creates_the_admin_login_and_the_health_check_passes(broker):
    port, data = broker
    state = json.loads((data / "dynamic-security.json").read_text())
    assert [client["username"] for client in state["clients"]] == ["admin"]
    assert subscribe_uptime(port, "-u", "admin", "-P", PASSWORD).stdout.strip().endswith("seconds")


def test_anonymous_clients_and_wrong_passwords_are_refused(broker):
    port, _ = broker
    assert subscribe_uptime(port).returncode != 0
    refused = subscribe_uptime(port, "-u", "admin", "-P", "wrong")
    assert refused.returncode != 0
    assert "not authorised" in (refused.stderr + refused.stdout).lower()


def test_the_bridge_health_check_needs_a_login_the_broker_accepts(broker):
    port, _ = broker
    assert mqtt_is_healthy(f"mqtt://admin:{PASSWORD}@127.0.0.1:{port}")
    assert not mqtt_is_healthy(f"mqtt://admin:wrong@127.0.0.1:{port}", timeout=2)
    assert not mqtt_is_healthy(f"mqtt://127.0.0.1:{port}", timeout=2)
    assert not mqtt_is_healthy(f"mqtt://admin:{PASSWORD}@127.0.0.1:{_free_port()}", timeout=2)
