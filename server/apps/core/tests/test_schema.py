"""The OpenAPI schema is generated, valid, and free of drf-spectacular warnings; /api/v1/schema/ serves it, built
once per process (server/config/api_schema.py)."""

import json
from unittest import mock

import pytest
import yaml
from django.core.management import call_command
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator

from server.apps.core.testing import make_user
from server.config.api_schema import SchemaView, api_schema

SCHEMA_URL = "/api/v1/schema/"


def test_schema_generates_without_warnings(tmp_path, client):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")
    text = target.read_text()
    assert "/api/v1/streamer/report/" in text
    assert "/api/v1/data/" in text
    # What /api/v1/schema/ serves from memory is the document the command writes.
    assert yaml.safe_load(client.get(SCHEMA_URL).content) == yaml.safe_load(text)


def test_fields_that_may_be_null_say_so():
    # Fields declared by hand over a nullable column or relation (core/api/schema.py); each answered null once.
    components = api_schema()["components"]["schemas"]
    nullable = {
        "Device": ["lat", "lon", "sg", "template"],
        "DataBlock": ["sg"],
        "Stream": ["block", "var_type"],
        "Variable": ["var_type"],
        "VariableTemplate": ["var_type"],
    }
    for component, fields in nullable.items():
        for field in fields:
            assert components[component]["properties"][field].get("nullable") is True, (component, field)
    assert "nullable" not in components["Device"]["properties"]["slug"]


def test_search_is_documented_as_the_page_it_answers():
    operation = api_schema()["paths"]["/api/v1/search/"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/PaginatedSearchResultList"}
    assert {"page", "page_size", "q"} <= {parameter["name"] for parameter in operation["parameters"]}


def test_the_schema_names_the_limits():
    schema = api_schema()
    upload = schema["paths"]["/api/v1/streamer/report/"]
    assert upload["post"]["responses"]["413"] == {"$ref": "#/components/responses/PayloadTooLarge"}
    assert upload["get"]["responses"]["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    assert "413" not in upload["get"]["responses"]
    assert "429" in schema["paths"]["/api/v1/auth/login/"]["post"]["responses"]
    assert "Retry-After" in schema["components"]["responses"]["TooManyRequests"]["headers"]


@pytest.fixture
def builds(settings):
    """The schema builds of the test, each the active language: a fake generator, the cache emptied first (any
    settings change empties it)."""
    settings.SPECTACULAR_SETTINGS = {**settings.SPECTACULAR_SETTINGS}
    languages: list[str] = []

    def build(generator, request=None, public=False):
        languages.append(translation.get_language())
        return {"openapi": "3.0.3", "info": {"title": "API", "version": generator.api_version or "1"}, "paths": {}}

    with mock.patch.object(SchemaGenerator, "get_schema", autospec=True, side_effect=build):
        yield languages


def test_the_served_schema_is_built_once_and_rendered_once_per_format(db, client, builds):
    as_yaml = client.get(SCHEMA_URL)
    assert as_yaml["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert as_yaml["Content-Disposition"] == 'inline; filename="IOTile Platform API.yaml"'
    as_json = client.get(SCHEMA_URL, {"format": "json"})
    assert as_json["Content-Type"] == "application/vnd.oai.openapi+json"
    assert as_json["Content-Disposition"] == 'inline; filename="IOTile Platform API.json"'
    negotiated = client.get(SCHEMA_URL, HTTP_ACCEPT="application/json")
    assert negotiated["Content-Type"] == "application/json"
    assert yaml.safe_load(as_yaml.content) == json.loads(as_json.content) == json.loads(negotiated.content)
    assert json.loads(as_json.content)["info"] == {"title": "API", "version": "1"}
    # Everyone gets the same document, from memory: signed in or not, no second build.
    client.force_login(make_user(is_staff=True))
    assert client.get(SCHEMA_URL, {"format": "json"}).content == as_json.content
    assert client.get(SCHEMA_URL).content == as_yaml.content
    assert builds == ["en-us"]


def test_each_language_and_version_is_built_once(db, client, builds):
    german = client.get(SCHEMA_URL, {"lang": "de", "format": "json"}).content
    assert client.get(SCHEMA_URL, {"lang": "de", "format": "json"}).content == german
    client.get(SCHEMA_URL, {"format": "json"})
    assert json.loads(client.get(SCHEMA_URL, {"version": "2", "format": "json"}).content)["info"]["version"] == "2"
    assert builds == ["de", "en-us", "en-us"]


def test_a_settings_change_builds_it_anew(db, client, builds, settings):
    client.get(SCHEMA_URL)
    settings.SPECTACULAR_SETTINGS = {**settings.SPECTACULAR_SETTINGS, "TITLE": "Changed"}
    client.get(SCHEMA_URL)
    assert len(builds) == 2


def test_a_schema_that_leaves_out_what_a_user_may_not_reach_is_built_per_request(db, rf, builds):
    view = SchemaView.as_view(serve_public=False)
    for _ in range(2):
        assert view(rf.get(SCHEMA_URL, {"format": "json"})).status_code == 200
    assert len(builds) == 2


def test_api_schema_gives_each_caller_its_own_copy(builds):
    api_schema()["paths"]["/changed/"] = {}
    assert api_schema()["paths"] == {}
    assert builds == ["en-us"]
