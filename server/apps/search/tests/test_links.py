"""Where results link to: a dashboard page when one exists, else the API's detail."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from server.apps.search.links import ROUTES, object_url


def test_each_kind_links_to_its_first_route_that_exists():
    for kind in ROUTES:
        for org in (None, "acme"):
            url = object_url(kind, "x--1", org=org)
            assert url is not None, kind
            assert url.endswith("/"), kind


def test_dashboard_pages_live_under_the_organisation():
    assert object_url("device", "d--0000-0000-0000-0012", org="acme") == "/org/acme/device/d--0000-0000-0000-0012/"
    assert object_url("project", "p--0000-0001", org="acme") == "/org/acme/project/p--0000-0001/"
    # Without an organisation (an unclaimed device) only the API's detail fits.
    assert object_url("device", "d--0000-0000-0000-0012") == "/api/v1/device/d--0000-0000-0000-0012/"


def test_org_targets_lose_their_caret():
    assert object_url("org", "^acme") == object_url("org", "acme")
    assert "acme" in object_url("org", "acme")


def test_the_first_route_that_exists_wins():
    for kind, routes in ROUTES.items():
        for name, takes_org in routes:
            try:
                expected = reverse(name, args=["acme", "x--1"] if takes_org else ["x--1"])
            except NoReverseMatch:
                continue
            assert object_url(kind, "x--1", org="acme").rstrip("/") == expected.rstrip("/")
            break


def test_unknown_kinds_have_no_page():
    assert object_url("user", "@someone") is None
