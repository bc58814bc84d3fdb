"""The embedded PostgreSQL stops with the last process that used it, even when another one was killed outright
(the run command's worker under SIGKILL): no cluster is left running."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import psutil

from tests.deploy.conftest import REPO_ROOT, process_environment, wait_until

JOIN = (
    "import django; django.setup(); from django.db import connection; connection.ensure_connection(); "
    "print('ready', flush=True)"
)


def join_cluster(data_dir, code: str) -> subprocess.Popen[str]:
    environment = process_environment(
        LOCAL_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="server.config.settings.local"
    )
    for name in ("DATABASE_URL", "STREAMDATA_DATABASE_URL"):
        environment.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, text=True
    )


def postmaster(data_dir) -> psutil.Process | None:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return None
    try:
        process = psutil.Process(int(pid_file.read_text().split()[0]))
    except psutil.NoSuchProcess:
        return None
    return process if process.status() != psutil.STATUS_ZOMBIE else None


def test_the_cluster_stops_with_its_last_live_holder_after_one_was_killed(tmp_path):
    killed = join_cluster(tmp_path, JOIN + "\nimport time; time.sleep(600)")
    try:
        assert killed.stdout.readline().strip() == "ready"
        server = postmaster(tmp_path)
        assert server is not None
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        holders = json.loads((tmp_path / "pgdata" / ".handle_pids.json").read_text())
        assert killed.pid in holders, "a killed process cannot take itself off pgserver's list"

        last = join_cluster(tmp_path, JOIN)
        assert last.communicate(timeout=120)[0].strip() == "ready"
        assert last.returncode == 0
        wait_until(lambda: not server.is_running() or server.status() == psutil.STATUS_ZOMBIE, "the cluster to stop")
        assert json.loads((tmp_path / "pgdata" / ".handle_pids.json").read_text()) == []
    finally:
        if killed.poll() is None:
            killed.kill()
        leftover = postmaster(tmp_path)
        if leftover is not None:
            leftover.terminate()
