"""Test-wide setup. Every database test may use both databases; the router decides where each model lives."""

import os
import uuid

import pytest

# Set in CI: a test that needs a browser or a machine service fails instead of skipping.
REQUIRE_ALL = os.environ.get("IOTILE_REQUIRE_ALL_TESTS", "") == "1"
DATABASES = ["default", "streamdata"]
# Shared fixtures: the AWS emulator (moto_server) and the file stores on folders or on it.
pytest_plugins = ["server.apps.core.testing_aws", "server.apps.stores.testing"]


def skip_or_fail(reason: str) -> None:
    """Skip a test whose browser or service is missing, or fail it when every test is required to run."""
    if REQUIRE_ALL:
        pytest.fail(f"required test could not run: {reason}", pytrace=False)
    pytest.skip(reason)


def empty_cache() -> None:
    """Drop this run's cached values. With django-redis only the keys under this run's KEY_PREFIX go (the test
    settings give each run its own), never the whole Redis database another run may be using."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _empty_cache():
    # A value cached by an earlier test, whose rows were rolled back, must not answer for this one.
    empty_cache()
    yield
    empty_cache()


# The suite's longest tests (minutes each in CI; the whole suite's `--durations` lists them), longest first: a prefix
# of test ids, a file's name ending in "::" for all its tests. Under `--dist loadfile` each is a unit of its own, which
# xdist may give to any process, and the units are handed out in this order before every other file. xdist would
# otherwise hand out the units with the fewest tests last, and a test of minutes started last is the run's tail.
LONG_TESTS = (
    "server/apps/core/tests/test_api_fuzz.py::",
    "server/apps/core/tests/test_access_matrix.py::",
    "server/apps/core/tests/test_databases.py::test_configured_servers_run_the_router_tests",
    "server/apps/streamdata/tests/test_migrations.py::",
    "server/apps/report/tests/test_generate.py::test_a_million_readings_in_every_format_match_sql",
    "server/apps/stream/tests/test_views.py::test_a_million_readings_are_downsampled_by_the_database",
    "tests/browser/test_stream_page.py::test_a_stream_of_a_million_readings_draws_a_downsampled_chart",
)


def long_test_rank(nodeid: str) -> int:
    """The place of a test in ``LONG_TESTS``; every other test ranks after them all."""
    return next((rank for rank, prefix in enumerate(LONG_TESTS) if nodeid.startswith(prefix)), len(LONG_TESTS))


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, except that the tests of ``LONG_TESTS`` are each a unit of their own, handed out first."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            return nodeid if long_test_rank(nodeid) < len(LONG_TESTS) else super()._split_scope(nodeid)

        ordered = False

        def _assign_work_unit(self, node):
            if not self.ordered:
                # The first unit handed out: xdist has filled its queue (the units with the most tests first). The long
                # tests go to its front; a stable sort keeps xdist's order among the rest.
                queue = sorted(self.workqueue.items(), key=lambda unit: long_test_rank(unit[0]))
                self.workqueue.clear()
                self.workqueue.update(queue)
                self.ordered = True
            super()._assign_work_unit(node)

    return Scheduling(config, log)


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    tmp_path_factory,
    django_test_environment,
    django_db_blocker,
    django_db_use_migrations,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's, except that the databases are migrated once per run and copied for each process
    (``server/apps/core/testing_databases.py``, docs/testing.md)."""
    from pytest_django.fixtures import _get_databases_for_setup

    from server.apps.core.testing_databases import TemplateDatabases

    if not django_db_use_migrations:
        pytest.exit("--nomigrations cannot build the schema: partitioned tables are made by migrations", returncode=4)
    worker = getattr(request.config, "workerinput", None)
    databases = TemplateDatabases(
        # The folder a run's xdist workers share (each has its own below it), or this process's own.
        run_dir=tmp_path_factory.getbasetemp().parent if worker else tmp_path_factory.getbasetemp(),
        suffix=worker["workerid"] if worker else "",
        # The run's id (xdist gives its workers one): a kept database (--reuse-db) has none.
        run_id="" if django_db_keepdb else (worker["testrunuid"] if worker else uuid.uuid4().hex)[:8],
        reuse=django_db_keepdb,
        rebuild=django_db_createdb,
        verbosity=request.config.option.verbose,
    )
    _, serialized_aliases = _get_databases_for_setup(request.session.items)
    with django_db_blocker.unblock():
        databases.set_up(serialized_aliases)
    yield
    with django_db_blocker.unblock():
        databases.tear_down()


def pytest_collection_modifyitems(items):
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker is None
            and "db" not in getattr(item, "fixturenames", ())
            and not any(name in getattr(item, "fixturenames", ()) for name in ("transactional_db", "live_server"))
        ):
            continue
        kwargs = dict(marker.kwargs) if marker else {}
        if "transactional_db" in item.fixturenames or "live_server" in item.fixturenames:
            kwargs.setdefault("transaction", True)
        kwargs.setdefault("databases", DATABASES)
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


# The cache a test runs on: the configured one, and django-redis on the machine's Redis (vartype cache, throttles).
MACHINE_REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["configured", "machine-redis"])
def cache_backend(request, settings):
    """``configured``: the settings' cache. ``machine-redis``: django-redis on 127.0.0.1:6379 with a prefix of its
    own, so it runs (and is required in CI) whether or not REDIS_URL is set. Set through pytest-django's
    ``settings``, so the test's other setting changes are undone in the right order."""
    from django.core.cache import cache

    if request.param == "configured":
        yield cache
        return
    import redis

    try:
        redis.Redis.from_url(MACHINE_REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis is not reachable at {MACHINE_REDIS}: {exc}")
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": MACHINE_REDIS,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}",
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    yield cache
    empty_cache()
