"""The OpenAPI schema is generated, valid, and free of drf-spectacular warnings."""

from django.core.management import call_command


def test_schema_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")
    text = target.read_text()
    assert "/api/v1/streamer/report/" in text
    assert "/api/v1/data/" in text


def _schema(tmp_path) -> dict:
    import yaml

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target))
    return yaml.safe_load(target.read_text())


def test_fields_that_may_be_null_say_so(tmp_path):
    # Fields declared by hand over a nullable column or relation (core/api/schema.py); each answered null once.
    components = _schema(tmp_path)["components"]["schemas"]
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


def test_search_is_documented_as_the_page_it_answers(tmp_path):
    operation = _schema(tmp_path)["paths"]["/api/v1/search/"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/PaginatedSearchResultList"}
    assert {"page", "page_size", "q"} <= {parameter["name"] for parameter in operation["parameters"]}


def test_the_schema_names_the_limits(tmp_path):
    schema = _schema(tmp_path)
    upload = schema["paths"]["/api/v1/streamer/report/"]
    assert upload["post"]["responses"]["413"] == {"$ref": "#/components/responses/PayloadTooLarge"}
    assert upload["get"]["responses"]["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    assert "413" not in upload["get"]["responses"]
    assert "429" in schema["paths"]["/api/v1/auth/login/"]["post"]["responses"]
    assert "Retry-After" in schema["components"]["responses"]["TooManyRequests"]["headers"]
