"""A real AWS emulator for tests: ``moto_server`` runs as a separate HTTP process on a free loopback port, so the
same boto3 code that talks to S3 and SQS in production runs in the tests.

The root conftest loads this module as a pytest plugin. Fixtures:

* ``moto_server`` (session): the running emulator (``endpoint_url``, ``region``, ``access_key``, ``secret_key``,
  ``client(service)``). When it cannot start, the test is skipped, or fails under ``IOTILE_REQUIRE_ALL_TESTS=1``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

REGION = "us-east-1"
START_TIMEOUT_SECONDS = 30


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _moto_command() -> list[str] | None:
    beside_python = Path(sys.executable).with_name("moto_server")
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("moto_server")
    return [found] if found else None


@dataclass
class MotoServer:
    endpoint_url: str
    process: subprocess.Popen
    log: IO[bytes]
    region: str = REGION
    access_key: str = "testing"
    secret_key: str = "testing"  # the emulator accepts any key

    def client(self, service: str):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def start_moto_server() -> MotoServer:
    """Start ``moto_server`` on a free loopback port and wait until it answers. Raises ``RuntimeError``."""
    command = _moto_command()
    if command is None:
        raise RuntimeError("moto_server is not installed (pip install 'moto[server]')")
    port = _free_port()
    # The emulator logs every request; a file (not a pipe nobody reads) keeps it from blocking.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server process)
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    endpoint_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            error = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"moto_server exited with {process.returncode}: {error}")
        try:
            with urllib.request.urlopen(f"{endpoint_url}/moto-api/", timeout=2):
                return MotoServer(endpoint_url=endpoint_url, process=process, log=log)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    process.kill()
    process.wait()
    log.close()
    raise RuntimeError(f"moto_server did not answer on {endpoint_url} within {START_TIMEOUT_SECONDS} s")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    from conftest import skip_or_fail

    try:
        server = start_moto_server()
    except RuntimeError as exc:
        skip_or_fail(f"moto_server cannot start: {exc}")
    try:
        yield server
    finally:
        server.stop()
