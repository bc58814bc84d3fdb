"""docker-compose.yml, checked without a Docker engine: ``docker-compose config`` (Debian's docker-compose) validates
and resolves it, and the resolved file must hold what a production stack needs."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from conftest import skip_or_fail
from server.apps.stores.config import KNOWN_STORES, S3, parse_store_configuration
from server.config.settings.environment import production_environment_problems
from tests.deploy.conftest import REPO_ROOT
from tests.deploy.test_settings import manage

SECRETS = {
    "DJANGO_SECRET_KEY": "compose-test-" + "k3y" * 20,
    "POSTGRES_PASSWORD": "pg-password",
    "MINIO_ROOT_PASSWORD": "minio-password",
    "MOSQUITTO_ADMIN_PASSWORD": "mqtt-password",
    "MQTT_PLATFORM_PASSWORD": "platform-password",
}
# The services the stack is made of (issue 14, DESIGN.md §2).
SERVICES = {
    "db",
    "streamdata-db",
    "redis",
    "elasticsearch",
    "elasticmq",
    "minio",
    "minio-bucket",
    "mosquitto",
    "release",
    "web",
    "worker",
    "mqtt-bridge",
    "nginx",
}
JOBS = {"release", "minio-bucket"}  # run to completion, restarted only when they fail


def compose_config(secrets: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if shutil.which("docker-compose") is None:
        skip_or_fail("docker-compose is not installed (Debian: apt-get install docker-compose)")
    environment = {"PATH": "/usr/bin:/bin:/usr/local/bin", **secrets}
    return subprocess.run(
        [
            "docker-compose",
            "--project-directory",
            str(REPO_ROOT),
            "-f",
            str(REPO_ROOT / "docker-compose.yml"),
            "config",
        ],
        cwd="/",  # no .env of a developer's checkout may fill in what the test leaves out
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def stack() -> dict:
    result = compose_config(SECRETS)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_the_stack_refuses_to_start_without_each_secret(missing):
    result = compose_config({name: value for name, value in SECRETS.items() if name != missing})
    assert result.returncode != 0
    assert f"set {missing} in .env" in result.stderr


def test_every_service_is_there_with_a_health_check_and_a_restart_policy(stack):
    services = stack["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        expected = "on-failure" if name in JOBS else "unless-stopped"
        assert service["restart"] == expected, name


def test_web_and_worker_wait_for_the_release_and_the_services_they_use(stack):
    services = stack["services"]
    assert services["release"]["depends_on"]["mosquitto"]["condition"] == "service_healthy"
    for name in ("web", "worker", "mqtt-bridge"):
        depends = services[name]["depends_on"]
        assert depends["release"]["condition"] == "service_completed_successfully"
        assert depends["minio-bucket"]["condition"] == "service_completed_successfully"
        for service in ("redis", "elasticmq", "mosquitto"):
            assert depends[service]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["web"]["command"] == ["gunicorn"]
    assert services["worker"]["command"] == ["python", "manage.py", "worker"]
    assert services["mqtt-bridge"]["command"] == ["python", "manage.py", "mqtt_bridge"]


def test_the_platform_environment_is_a_complete_production_environment(stack):
    web = stack["services"]["web"]["environment"]
    for other in ("worker", "release", "mqtt-bridge"):
        assert stack["services"][other]["environment"] == web, other
    assert production_environment_problems(web) == []
    assert web["DATABASE_URL"] == "postgres://iotile:pg-password@db:5432/iotile"
    assert web["STREAMDATA_DATABASE_URL"] == "postgres://iotile:pg-password@streamdata-db:5432/iotile_streamdata"
    assert (web["WORKER_QUEUE"], web["WORKER_SQS_ENDPOINT_URL"]) == ("sqs", "http://elasticmq:9324")
    assert web["MQTT_URL"] == "mqtt://platform:platform-password@mosquitto:1883"
    assert web["MQTT_ADMIN_URL"] == "mqtt://admin:mqtt-password@mosquitto:1883"
    # Every store on MinIO, so no host keeps files another cannot see.
    stores = parse_store_configuration(
        web["STORE_CONFIGURATION"], data_dir=REPO_ROOT / ".unused", endpoint_host_and_port="minio:9000"
    )
    assert {name for name, store in stores.items() if store["backend"] == S3} >= set(KNOWN_STORES)


def test_the_production_settings_load_and_pass_check_deploy_with_the_stack_environment(stack):
    web = {name: str(value) for name, value in stack["services"]["web"]["environment"].items()}
    web.pop("DJANGO_SETTINGS_MODULE")
    result = manage("check --deploy --fail-level WARNING", web, "server.config.settings.production")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def mounts(service: dict) -> dict[str, str]:
    """A service's volumes as {source: target} (docker-compose 1.29 writes them as "source:target[:mode]")."""
    return dict(volume.split(":")[:2] for volume in service.get("volumes", []))


def test_nginx_serves_the_repository_template_with_the_limits(stack):
    services = stack["services"]
    nginx = services["nginx"]
    assert mounts(nginx)[str(REPO_ROOT / "nginx" / "templates")] == "/etc/nginx/templates"
    assert nginx["environment"]["NGINX_MAX_BODY_SIZE"] == "33m"
    assert nginx["environment"]["NGINX_UPSTREAM"] == "web:8000"
    # Static files: the release job collects them into the volume nginx serves.
    assert mounts(services["release"])["static"] == services["release"]["environment"]["DJANGO_STATIC_ROOT"]
    assert mounts(nginx)["static"] == nginx["environment"]["NGINX_STATIC_ROOT"]


def test_the_image_copies_files_that_exist_and_leaves_local_state_out():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    sources = [
        source
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
        if not source.startswith("--")
    ]
    assert sources, "the Dockerfile copies the repository"
    for source in sources:
        assert (REPO_ROOT / source).exists(), source
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".git", ".local", ".env", "webapp/node_modules"} <= set(ignored)


def test_gunicorn_ends_a_request_before_nginx_gives_up_on_it():
    config: dict = {}
    exec((REPO_ROOT / "gunicorn.conf.py").read_text(), config)
    assert config["wsgi_app"] == "server.config.wsgi:application"
    assert config["preload_app"] is True
    template = (REPO_ROOT / "nginx" / "templates" / "iotile.conf.template").read_text()
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", template).group(1))
    assert config["timeout"] < read_timeout
