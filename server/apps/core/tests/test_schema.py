"""The OpenAPI schema is generated, valid, and free of drf-spectacular warnings."""

from django.core.management import call_command


def test_schema_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")
    text = target.read_text()
    assert "/api/v1/streamer/report/" in text
    assert "/api/v1/data/" in text


def test_the_schema_names_the_limits(tmp_path):
    import yaml

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    upload = schema["paths"]["/api/v1/streamer/report/"]
    assert upload["post"]["responses"]["413"] == {"$ref": "#/components/responses/PayloadTooLarge"}
    assert upload["get"]["responses"]["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    assert "413" not in upload["get"]["responses"]
    assert "429" in schema["paths"]["/api/v1/auth/login/"]["post"]["responses"]
    assert "Retry-After" in schema["components"]["responses"]["TooManyRequests"]["headers"]
