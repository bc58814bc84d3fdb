"""Every paginated list reads ``page_size`` as a whole number of 1 or more, capped at the list's largest page, and
answers 400 naming it to anything else (DRF read ``-5``, ``0`` or ``abc`` as its default size)."""

from __future__ import annotations

import pytest

from server.apps.core.api.pagination import StrictPageSizePagination
from server.apps.core.testing import api_client, make_user
from server.apps.core.tests.world import all_routes
from server.apps.device.tests.factories import make_device, make_project, make_stream
from server.config.api_schema import api_schema


def test_every_paginated_view_reads_page_size_strictly():
    views = {
        getattr(route.callback, "cls", None) or getattr(route.callback, "view_class", None) for route in all_routes()
    }
    paginated = {view for view in views if getattr(view, "pagination_class", None)}
    assert len(paginated) > 20
    loose = [view.__name__ for view in paginated if not issubclass(view.pagination_class, StrictPageSizePagination)]
    assert loose == []


def test_the_schema_says_page_size_is_1_or_more():
    sizes = [
        parameter
        for path in api_schema()["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "page_size"
    ]
    assert sizes
    assert all(parameter["schema"]["minimum"] == 1 for parameter in sizes)


@pytest.mark.parametrize("value", ["-5", "0", "000", "abc", "1.5", "1e3", " 2", "٣", "-0"])
def test_a_bad_page_size_is_a_400_naming_it(db, value):
    client = api_client(make_user(is_staff=True))
    response = client.get("/api/v1/device/", {"page_size": value})
    assert response.status_code == 400
    assert list(response.json()) == ["page_size"]


def test_a_good_page_size_pages_and_a_huge_one_reads_the_largest_page(db):
    project = make_project()
    devices = [make_device(project) for _ in range(3)]
    client = api_client(make_user(is_staff=True))
    two = client.get("/api/v1/device/", {"page_size": "2"}).json()
    assert (two["count"], len(two["results"])) == (3, 2)
    assert "page_size=2" in two["next"]
    for huge in ("1000000000000000000000000000000", "9" * 5000, "0002"):
        response = client.get("/api/v1/device/", {"page_size": huge})
        assert response.status_code == 200
        assert len(response.json()["results"]) == (2 if huge == "0002" else len(devices))
    assert len(client.get("/api/v1/device/", {"page_size": ""}).json()["results"]) == len(devices)


def test_stream_data_refuses_a_bad_page_size_too(db):
    project = make_project()
    stream = make_stream(make_device(project))
    client = api_client(make_user(is_staff=True))
    assert client.get("/api/v1/data/", {"filter": stream.slug, "page_size": "5"}).status_code == 200
    response = client.get("/api/v1/data/", {"filter": stream.slug, "page_size": "-1"})
    assert response.status_code == 400
    assert list(response.json()) == ["page_size"]
