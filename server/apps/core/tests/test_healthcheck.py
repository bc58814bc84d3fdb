"""The compose stack's health checks (server/config/healthcheck.py); the web check against a live gunicorn is in
tests/deploy/test_nginx.py."""

from __future__ import annotations

import pytest

from server.config import healthcheck


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("iot.example.com,localhost", "iot.example.com"),
        (".example.com", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_the_web_check_asks_with_a_host_the_settings_allow(allowed, host):
    assert healthcheck.allowed_host(allowed) == host


def test_the_worker_check_reaches_the_queue(db):
    assert healthcheck.worker_is_healthy()
    assert healthcheck.main(["healthcheck", "worker"]) == 0


def test_the_worker_check_fails_when_the_queue_cannot_be_reached(db, settings):
    settings.WORKER_QUEUE = "sqs"
    settings.WORKER_SQS_ENDPOINT_URL = "http://127.0.0.1:9"
    assert not healthcheck.worker_is_healthy()


def test_an_unknown_check_is_a_usage_error(capsys):
    assert healthcheck.main(["healthcheck"]) == 2
    assert "usage" in capsys.readouterr().err
