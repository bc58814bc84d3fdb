"""Hostile input over HTTP: bodies, query strings, paths and ids that must be a clear 4xx, never a 500 or another
object (docs/security.md). The parsers and the middleware are global, so a meta-test checks every API view uses them.
"""

from __future__ import annotations

import datetime
import json

import pytest
from django import forms as django_forms
from django.urls import reverse
from rest_framework.views import APIView

from server.apps.configattribute.models import ConfigAttribute
from server.apps.configattribute.tests.factories import config_name
from server.apps.core import forms as core_forms
from server.apps.core.api import parsers
from server.apps.core.testing import api_client, make_org, project_subclasses
from server.apps.core.tests.test_coverage import _api_views
from server.apps.device.models import Device
from server.apps.device.tests.factories import make_device, make_project
from server.apps.project.models import Project
from server.apps.property.models import GenericProperty
from server.apps.streamalias.tests.factories import make_alias
from server.apps.streamnote.models import StreamNote
from server.config import api_urls

DEEP = "[" * 100_000 + "]" * 100_000
CHECKED_PARSERS = (parsers.JSONParser, parsers.FormParser, parsers.MultiPartParser)


def test_every_api_view_parses_bodies_strictly():
    lax = sorted(
        f"{view.__module__}.{view.__qualname__}: {type(parser).__name__}"
        for view in _api_views(api_urls.urlpatterns)
        for parser in APIView.get_parsers(view())
        if not isinstance(parser, CHECKED_PARSERS)
    )
    assert not lax, f"views with parsers that skip core/api/parsers.py's checks: {lax}"


@pytest.fixture
def member(db):
    org = make_org()
    device = make_device(make_project(org))
    return org, device, api_client(org.created_by)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "project/"), ("post", "property/"), ("patch", "device/{device}/"), ("post", "streamer/report/")],
)
def test_deeply_nested_json_is_400(member, method, path):
    org, device, client = member
    url = "/api/v1/" + path.format(device=device.slug)
    response = getattr(client, method)(url, DEEP, content_type="application/json")
    assert response.status_code in (400, 415), response.content
    if response.status_code == 400:
        assert "nests more than 64 levels" in response.json()["detail"]
    assert Project.objects.filter(org=org).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "p\\u0000", "org": "%s"}',
        '{"name": "\\ud800", "org": "%s"}',
        '{"name": "ok", "org": "%s", "about": "\\udfff"}',
        '{"name": "ok", "org": "%s", "x": 1e999}',
        '{"name": "ok", "org": "%s", "x": NaN}',
    ],
)
def test_bad_text_and_numbers_in_json_are_400(member, body):
    org, _, client = member
    response = client.post("/api/v1/project/", body % org.slug, content_type="application/json")
    assert response.status_code == 400, response.content
    assert Project.objects.filter(org=org).count() == 1


def test_nul_in_a_property_post_is_400(member):
    _, device, client = member
    for body in [
        {"name": "a\x00", "value": "x", "target": device.slug},
        {"name": "a", "value": "x\x00", "target": device.slug},
        {"name": "a", "value": {"deep": ["x\x00"]}, "target": device.slug},
    ]:
        response = client.post("/api/v1/property/", json.dumps(body), content_type="application/json")
        assert response.status_code == 400, response.content
    response = client.post("/api/v1/property/", {"name": "a\x00", "value": "x", "target": device.slug})
    assert response.status_code == 400, response.content
    assert not GenericProperty.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/config/attr/search/?target={device}&name=%00",
        "/api/v1/config/attr/search/?target=^{org}&name=%00",
        "/api/v1/org/%00/",
        "/api/v1/org/{org}/members/%00/",
        "/api/v1/device/?project=%00",
        "/api/v1/search/?q=a%00b",
        "/api/v1/data/?filter=%00",
        "/api/v1/device/d--0000-0000-0000-0001%00/",
        "/api/v1/project/?a%00=1",
    ],
)
def test_nul_in_a_path_or_query_string_is_400(member, url):
    org, device, client = member
    response = client.get(url.format(org=org.slug, device=device.slug))
    assert response.status_code == 400, response.content
    assert "NUL" in response.json()["detail"]


def test_nul_in_a_dashboard_path_is_400_text(member):
    org, _, client = member
    client.force_login(org.created_by)
    response = client.get(f"/org/{org.slug}%00/")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("url", ["/api/v1/org/%ED%A0%80/", "/api/v1/device/?project=%ED%A0%80%ED%B0%80"])
def test_broken_utf8_in_a_path_or_query_string_is_a_clean_4xx(member, url):
    response = member[2].get(url)
    assert 400 <= response.status_code < 500, response.content


@pytest.mark.parametrize("form", ["-{id}", "+{id}", "%20{id}", "{id}%20", "\u0661", "-{id}-", "0x-{id}", "{id}_0"])
@pytest.mark.parametrize("path", ["device/{value}/", "device/{value}/extra/", "device/{value}/key/", "alias/{value}/"])
def test_odd_ids_name_nothing(member, form, path):
    org, device, client = member
    alias = make_alias(org)
    value = form.format(id=device.pk if path.startswith("device") else alias.pk)
    response = client.get("/api/v1/" + path.format(value=value))
    assert response.status_code == 404, (value, response.content)


def test_the_forms_clients_use_still_name_the_device(member):
    _, device, client = member
    for value in [device.slug, str(device.pk), f"d--{device.pk:x}", f"0x{device.pk:x}", device.slug.upper()[3:]]:
        response = client.get(f"/api/v1/device/{value}/")
        assert response.status_code == 200, value
        assert response.json()["id"] == device.pk


def test_an_id_too_big_for_the_database_is_404(member):
    client = member[2]
    for url in ["/api/v1/property/99999999999999999999999/", "/api/v1/device/99999999999999999999999/"]:
        assert client.get(url).status_code == 404
    assert Device.objects.count() == 1


# Routes whose id is digits only do not match "-1", a word or a NUL: the API's JSON 404 (or the NUL's 400) all the
# same, never the dashboard's HTML page. Several apps' routes, with and without a tail after the id.
DIGITS_ONLY_ROUTES = [
    ("get", "uploadschedule/{id}/"),
    ("get", "event/{id}/data/"),
    ("get", "property/{id}/"),
    ("patch", "filter/{id}/"),
    ("post", "alert/{id}/acknowledge/"),
    ("post", "ota/request/{id}/cancel/"),
    ("get", "desiredstate/{id}/"),
    ("delete", "location/{id}/"),
    ("post", "destination/{id}/replay/"),
    ("get", "report/{id}/"),
    ("get", "audit/{id}/"),
    ("get", "pd/{id}/"),
]


@pytest.mark.parametrize(("method", "path"), DIGITS_ONLY_ROUTES)
@pytest.mark.parametrize(
    ("odd", "status"),
    [("-1", 404), ("12345678901234567890", 404), ("99999999999999999999999", 404), ("abc", 404), ("%00", 400)],
)
def test_an_id_a_route_does_not_match_is_the_apis_json_error(member, method, path, odd, status):
    client = member[2]
    response = getattr(client, method)("/api/v1/" + path.format(id=odd), {}, format="json")
    assert response.status_code == status, (path, odd, response.content)
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("url", ["/api/v1/nothing/", "/api/v1/device/1/nothing/", "/api/nothing", "/api/"])
def test_a_path_under_api_no_route_matches_is_the_apis_json_404(member, url):
    response = member[2].get(url)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_anonymous_gets_the_apis_json_404_for_a_path_no_route_matches(db):
    response = api_client().get("/api/v1/uploadschedule/-1/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_with_debug_on_the_api_still_answers_json_and_the_dashboard_its_debug_page(member, settings):
    # inv run-local runs with DEBUG on, where Django would answer its own HTML debug page.
    settings.DEBUG = True
    org, _, client = member
    for url in ("/api/v1/uploadschedule/-1/", "/api/v1/nothing/", "/api/v1/device/d--0000-0000-0000-0001/nothing/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"detail": "Not found."}
    # An object that is not there keeps the API's own answer.
    response = client.get("/api/v1/uploadschedule/999999/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    client.force_login(org.created_by)
    response = client.get("/nothing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("url", ["/nothing/", "/org/{org}/nothing/", "/apix/"])
def test_the_dashboard_keeps_its_html_404(member, url):
    org, _, client = member
    client.force_login(org.created_by)
    response = client.get(url.format(org=org.slug))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"<html" in response.content


# The dashboard's forms ----------------------------------------------------------------------------------------------


def _form_classes() -> list[type]:
    return project_subclasses(django_forms.BaseForm, "forms")


def test_every_dashboard_form_parses_json_and_times_strictly():
    lax = sorted(
        f"{cls.__module__}.{cls.__qualname__}.{name}: {type(field).__name__}"
        for cls in _form_classes()
        for name, field in getattr(cls, "base_fields", {}).items()
        if (isinstance(field, django_forms.JSONField) and not isinstance(field, core_forms.JSONField))
        or (isinstance(field, django_forms.DateTimeField) and not isinstance(field, core_forms.DateTimeField))
    )
    assert not lax, f"form fields that skip core/forms.py's strict JSON and UTC fields: {lax}"


@pytest.mark.parametrize("data", ["[" * 100_000 + "]" * 100_000, '{"a": "\\ud800"}', '{"a": "\\u0000"}', "[1e999]"])
def test_a_hostile_config_value_in_the_dashboard_is_a_form_error(member, data):
    org, device, _ = member
    client = api_client()
    client.force_login(org.created_by)
    url = reverse("configattribute:set", kwargs={"org_slug": org.slug, "device_slug": device.slug})
    response = client.post(url, {"name": config_name().name, "data": data})
    assert response.status_code in (200, 400), response.status_code
    assert not ConfigAttribute.objects.exists()


def test_a_dashboard_time_with_any_offset_is_stored_in_utc(member):
    org, device, _ = member
    client = api_client()
    client.force_login(org.created_by)
    url = reverse("streamnote:create", kwargs={"org_slug": org.slug, "device_slug": device.slug})
    response = client.post(url, {"note": "far west", "timestamp": "2026-01-01T00:00:00-18:04"})
    assert response.status_code == 302, response.content[:500]
    note = StreamNote.objects.get(note="far west")
    assert note.timestamp == datetime.datetime(2026, 1, 1, 18, 4, tzinfo=datetime.UTC)
    response = client.post(url, {"note": "before time", "timestamp": "0001-01-01T00:00:00+01:00"})
    assert response.status_code == 200
    assert not StreamNote.objects.filter(note="before time").exists()


@pytest.mark.parametrize(
    "value", ["2026-01-01T00:00:00-18:04", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
)
def test_odd_offsets_in_time_filters_are_utc_or_400(member, value):
    _, device, client = member
    for url in ["/api/v1/data/", "/api/v1/event/", "/api/v1/note/", "/api/v1/streamer/report/"]:
        params = {"filter": device.slug, "target": device.slug, "start": value, "end": value}
        response = client.get(url, params)
        assert response.status_code in (200, 400), (url, response.content[:300])
