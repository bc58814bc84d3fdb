"""The dashboard's search page and the navbar's search box."""

from __future__ import annotations

import pytest
from django.test import Client

from server.apps.core.testing import assert_query_count, make_org, make_user
from server.apps.search.links import object_url
from server.apps.search.tests.factories import add_device, add_project, add_property

pytestmark = pytest.mark.django_db
PAGE = "/search/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_visitors_are_sent_to_log_in():
    response = Client().get(PAGE, {"q": "pump"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_navbar_box_submits_to_the_page():
    body = logged_in(make_user()).get("/").content.decode()
    assert f'action="{PAGE}"' in body
    assert "Search is coming soon" not in body


def test_without_a_query_the_page_shows_the_form_only():
    response = logged_in(make_user()).get(PAGE)
    assert response.status_code == 200
    assert response.templates[0].name == "search/results.html"
    assert 'name="q"' in response.content.decode()
    assert 'data-testid="search-results"' not in response.content.decode()


def test_results_grouped_by_kind_with_links():
    org = make_org(name="Canal Trust")
    device = add_device(org, label="Lock gate 3")
    project = add_project(org, "Lock maintenance")
    add_property(org, device, name="lock", value="east")
    theirs = add_device(make_org(), label="Lock gate 3")

    response = logged_in(org.created_by).get(PAGE, {"q": "lock"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="search-count"' in body
    assert "3 results" in body
    for heading in ("Devices", "Projects", "Properties"):
        assert heading in body
    assert f'href="/org/{org.slug}/device/{device.slug}/"' in body
    assert f'href="/org/{org.slug}/project/{project.slug}/"' in body
    assert f'href="{object_url("org", org.slug)}"' in body
    assert theirs.slug not in body
    # Kinds in the order of their best hit.
    best = [group["results"][0][0].score for group in response.context["groups"]]
    assert best == sorted(best, reverse=True)


def test_nothing_found():
    response = logged_in(make_user()).get(PAGE, {"q": "<script>"})
    body = response.content.decode()
    assert 'data-testid="search-empty"' in body
    assert "<script>" not in body.split('data-testid="search-empty"')[1]


def test_pages_of_results():
    org = make_org()
    for i in range(55):
        add_device(org, label=f"Buoy {i}")
    client = logged_in(org.created_by)
    first = client.get(PAGE, {"q": "buoy"})
    assert "page 1 of 2" in first.content.decode()
    assert len(first.context["page"].object_list) == 50
    second = client.get(PAGE, {"q": "buoy", "page": 2})
    assert len(second.context["page"].object_list) == 5


def test_query_count_does_not_grow_with_results():
    org = make_org()
    add_device(org, label="Weir 0")
    client = logged_in(org.created_by)
    client.get(PAGE, {"q": "weir"})  # warm the session
    with assert_query_count(4) as one:
        client.get(PAGE, {"q": "weir"})
    for i in range(1, 10):
        add_device(org, label=f"Weir {i}")
    with assert_query_count(len(one.captured_queries)):
        assert client.get(PAGE, {"q": "weir"}).context["page"].paginator.count == 10
