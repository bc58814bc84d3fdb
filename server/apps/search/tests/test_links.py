"""Where results link to: a dashboard page when one exists, else the API's detail."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from server.apps.search.links import ROUTES, object_url


def test_each_kind_links_to_its_first_route_that_exists():
    for kind in ROUTES:
        url = object_url(kind, "x--1")
        assert url is not None, kind
        assert url.endswith("/"), kind


def test_org_targets_lose_their_caret():
    assert object_url("org", "^acme") == object_url("org", "acme")
    assert "acme" in object_url("org", "acme")


def test_a_dashboard_page_wins_over_the_api():
    for kind, names in ROUTES.items():
        for name in names:
            try:
                expected = reverse(name, args=["x--1"])
            except NoReverseMatch:
                continue
            assert object_url(kind, "x--1").rstrip("/") == expected.rstrip("/")
            break


def test_unknown_kinds_have_no_page():
    assert object_url("user", "@someone") is None
