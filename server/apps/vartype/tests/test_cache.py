"""The cached variable type detail, on the configured cache (Redis when REDIS_URL is set, else local memory) and,
in every run, on django-redis against the machine's Redis."""

from __future__ import annotations

import warnings
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.core.cache import CacheKeyWarning, caches

from server.apps.core.testing import api_client, assert_query_count, make_user
from server.apps.device.tests.factories import make_staff
from server.apps.vartype.services import vartype_cache_key, vartype_create, vartype_unit_set, vartype_update

URL = "/api/v1/vartype/"


def _units_type(name: str = "Water Volume"):
    return vartype_create(
        created_by=make_staff(),
        name=name,
        storage_units_full="Liters",
        input_units=[{"unit_full": "Gallons", "m": 3785, "d": 1000}],
        output_units=[{"unit_full": "Liters", "decimal_places": 1}],
    )


def test_the_backend_under_test(cache_backend, request):
    redis_expected = request.node.callspec.params["cache_backend"] == "machine-redis" or bool(settings.REDIS_URL)
    assert type(caches["default"]).__name__ == ("RedisCache" if redis_expected else "LocMemCache")
    cache_backend.set("probe", {"a": [1, 2]}, 60)
    assert cache_backend.get("probe") == {"a": [1, 2]}


def test_a_detail_is_read_once_then_served_from_the_cache(cache_backend, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        var_type = _units_type()
    client = api_client(make_user())
    first = client.get(f"{URL}{var_type.slug}/")
    assert first.status_code == 200
    assert cache_backend.get(vartype_cache_key(var_type.slug)) == first.json()
    # Authentication only: the type and its two unit lists come from the cache.
    with assert_query_count(1):
        second = client.get(f"{URL}{var_type.slug}/")
    assert second.json() == first.json()
    assert [unit["slug"] for unit in second.json()["available_input_units"]] == ["in--water-volume--gallons"]


def test_writes_through_the_services_drop_the_entry(cache_backend, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        var_type = _units_type()
    client = api_client(make_user())
    client.get(f"{URL}{var_type.slug}/")

    with django_capture_on_commit_callbacks(execute=True):
        vartype_update(var_type=var_type, storage_units_full="Cubic meters")
    assert cache_backend.get(vartype_cache_key(var_type.slug)) is None
    assert client.get(f"{URL}{var_type.slug}/").json()["storage_units_full"] == "Cubic meters"

    with django_capture_on_commit_callbacks(execute=True):
        vartype_unit_set(var_type=var_type, direction="out", unit_full="Gallons", m=1000, d=3785)
    units = client.get(f"{URL}{var_type.slug}/").json()["available_output_units"]
    assert sorted(unit["unit_full"] for unit in units) == ["Gallons", "Liters"]


def test_the_entry_stays_until_the_write_commits(cache_backend, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        var_type = _units_type()
    api_client(make_user()).get(f"{URL}{var_type.slug}/")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        vartype_update(var_type=var_type, storage_units_full="Cubic meters")
    # Not yet committed: readers still get the committed rows, from the cache.
    assert cache_backend.get(vartype_cache_key(var_type.slug))["storage_units_full"] == "Liters"
    for callback in callbacks:
        callback()
    assert cache_backend.get(vartype_cache_key(var_type.slug)) is None


def test_an_unknown_slug_is_404_and_not_cached(cache_backend, db):
    response = api_client(make_user()).get(f"{URL}no-such-type/")
    assert response.status_code == 404
    assert cache_backend.get(vartype_cache_key("no-such-type")) is None


def test_writes_through_the_api_drop_the_entry(cache_backend, db, django_capture_on_commit_callbacks):
    var_type = _units_type()
    reader = api_client(make_user())
    reader.get(f"{URL}{var_type.slug}/")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(make_staff()).patch(
            f"{URL}{var_type.slug}/", {"storage_units_full": "Barrels"}, format="json"
        )
    assert response.status_code == 200, response.content
    assert reader.get(f"{URL}{var_type.slug}/").json()["storage_units_full"] == "Barrels"


@pytest.mark.parametrize("slug", ["two words", "tab%09in", "x" * 300, "caf%C3%A9"])
def test_a_value_no_slug_can_be_is_404_and_never_a_cache_key(cache_backend, db, slug):
    # A space, a control character or a key past 250 characters would be a CacheKeyWarning on every backend, and a
    # failure on memcached.
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        response = api_client(make_user()).get(f"{URL}{slug}/")
    assert response.status_code == 404
    assert vartype_cache_key(unquote(slug)) is None
