"""The README's run command, end to end: ``inv run-local`` serves the dashboard and the API, signs with a key of its
own kept in LOCAL_DATA_DIR, restarts a killed worker while the web server keeps answering, and Ctrl-C stops
everything."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from server.apps.core.testing_aws import _free_port
from tests.deploy.conftest import REPO_ROOT, Output, http_get, process_environment, wait_until
from tests.deploy.test_supervisor import alive

pytestmark = pytest.mark.live


def started_pids(output: Output, name: str) -> list[int]:
    return [
        int(pid) for pid in re.findall(rf"run-local: started {name}(?: \(restart \d+\))?, pid (\d+)", output.text())
    ]


def test_run_local_serves_survives_a_killed_worker_and_stops_on_ctrl_c(test_database_environment, tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    environment = process_environment(LOCAL_DATA_DIR=str(tmp_path), **test_database_environment)
    environment.pop("DJANGO_SECRET_KEY", None)
    command = [sys.executable, "-m", "invoke", "run-local", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = Output(process)
    try:
        wait_until(lambda: http_get(f"{base}/api/v1/server/")[0] == 200, "the web server", timeout=300)
        assert http_get(f"{base}/")[0] == 200
        assert http_get(f"{base}/api/v1/docs/")[0] == 200

        # The key it signs with was made for this checkout, private to its owner.
        key_file = tmp_path / "secret_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

        [web] = started_pids(output, "web")
        [worker] = wait_until(lambda: started_pids(output, "worker"), "the worker")
        os.kill(worker, signal.SIGKILL)
        # The web server keeps answering, with the worker down and after it comes back.
        assert http_get(f"{base}/api/v1/server/")[0] == 200
        [_, restarted] = wait_until(
            lambda: started_pids(output, "worker")[1:] and started_pids(output, "worker"), "the worker's restart"
        )
        assert "worker was killed by signal 9" in output.text()
        assert alive(restarted)
        assert b"worker" in Path(f"/proc/{restarted}/cmdline").read_bytes()
        assert http_get(f"{base}/")[0] == 200
        assert started_pids(output, "web") == [web]

        # Ctrl-C: the terminal signals the foreground process, the supervisor stops its children.
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, output.text()
        assert not alive(web)
        assert not alive(restarted)
        assert http_get(f"{base}/api/v1/server/", timeout=5)[0] == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
