"""The OpenAPI schema is generated, valid, and free of drf-spectacular warnings."""

from django.core.management import call_command


def test_schema_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")
    text = target.read_text()
    assert "/api/v1/streamer/report/" in text
    assert "/api/v1/data/" in text
