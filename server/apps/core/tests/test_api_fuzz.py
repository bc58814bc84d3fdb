"""Schemathesis over every operation of the published schema, as an organisation member (the owner, who reaches
every write) and as staff, with positive and negative data.

Each request runs in a savepoint that is rolled back, so every one meets the same small world
(core/tests/world.py) whatever the ones before it deleted. Path parameters are the world's ids for about half the
cases and generated for the rest. Every answer must be no 5xx and match the schema (body, content type, headers).
``API_FUZZ_EXAMPLES`` sets the examples per operation and mode (``inv schemathesis`` runs more; docs/security.md).
"""

from __future__ import annotations

import logging
import os
import zlib
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from server.apps.authentication.authentication import jwt_encode
from server.apps.core.testing import connections_kept_between_requests, rolled_back_request
from server.apps.core.tests.world import make_catalog, make_world, route_kwargs
from server.config.api_schema import api_schema
from server.config.wsgi import application

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "3"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, response_headers_conformance]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
# The operations are split into this many tests per role, which xdist may run in different processes (LONG_TESTS in
# the root conftest.py), so the run is spread over the workers instead of being one file's long tail on one of them.
SHARDS = 4


@pytest.fixture
def in_process_wsgi():
    """The WSGI app in this thread and transaction: like Django's test client, keep the connection open between
    requests (the handler closes it when a request ends)."""
    logging.disable(logging.ERROR)  # a line per answer would drown the report; failures are collected
    with connections_kept_between_requests():
        yield application
    logging.disable(logging.NOTSET)


def _schema() -> Any:
    schema = schemathesis.openapi.from_dict(api_schema())
    schema.app = application
    return schema


def _operation_key(operation: Any) -> tuple[str, str]:
    return (operation.path, operation.method.upper())


def _known_path_parameters(operation: Any, world: Any, catalog: Any) -> dict[str, str]:
    names = [parameter.name for parameter in operation.path_parameters]
    route = operation.path.lstrip("/")
    return {key: str(value) for key, value in route_kwargs(route, names, world, catalog).items()}


def _fuzz(operation: Any, mode: Any, known: dict[str, str], headers: dict[str, str], statuses: Counter[int]) -> list:
    """Run one operation in one generation mode; the failures, each a line."""
    failures: list[str] = []
    where = f"{operation.method.upper()} {operation.path} [{mode.value}]"

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if known and zlib.crc32(repr((case.body, case.query)).encode()) % 2:
            case.path_parameters = {**(case.path_parameters or {}), **known}
        case.headers = {**(case.headers or {}), **headers}
        with rolled_back_request():
            response = case.call()
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except AssertionError as exc:
            failures.append(f"{where}: {exc}"[:2000])

    try:
        run()
    except Unsatisfiable:  # nothing to negate in an operation without parameters or body
        pass
    return failures


@pytest.mark.parametrize("shard", range(SHARDS))
@pytest.mark.parametrize("role", ["member", "staff"])
def test_every_operation_answers_within_its_schema(role, shard, db, folder_stores, in_process_wsgi):
    world, catalog = make_world(), make_catalog()
    user = world.owner if role == "member" else catalog.staff
    headers = {"Authorization": f"jwt {jwt_encode(user)}"}
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    everything = sorted((result.ok() for result in _schema().get_all_operations()), key=_operation_key)
    # Every SHARDS-th operation: the shards together take every operation once, and xdist runs them side by side.
    operations = everything[shard::SHARDS]
    assert operations
    for operation in operations:
        known = _known_path_parameters(operation, world, catalog)
        for mode in MODES:
            failures += _fuzz(operation, mode, known, headers, statuses)
    counts = dict(sorted(statuses.items()))
    print(f"\n{role}, shard {shard}: {sum(statuses.values())} requests over {len(operations)} operations: {counts}")
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:30])
