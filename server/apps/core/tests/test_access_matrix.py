"""The access matrix, generated from the URL conf: every route (API and dashboard), every method its view takes,
every role, on its own and on another organisation's objects. A new route is in it without anyone adding it; a route
whose parameters the world (core/tests/world.py) cannot fill fails here until it can.

Two organisations, A and B, each with one of everything. The rules, for every answer:

* never a 5xx;
* anonymous: an API route answers 401 and a page sends to the login page, unless the route is public;
* staff pages: 404 (or 403) to anyone but staff;
* A's member and owner on B's objects: 404 (or 403/405 for a write), and nothing of B in the body;
* A's member and owner on A's objects, and staff: the read is served (or refused for a reason listed below);
* no answer to A's people ever holds B's ids.

Each request runs in a savepoint that is rolled back, so a delete does not change what the next request meets.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from server.apps.authentication.authentication import jwt_encode
from server.apps.core.testing import rolled_back_request
from server.apps.core.tests.world import Route, World, all_routes, make_catalog, make_world, route_kwargs

# Routes outside the matrix, with the reason.
EXEMPT_PREFIXES = {
    "admin/": "Django's admin: staff only, guarded by Django itself",
    "accounts/": "allauth's sign-in, sign-up and password pages: public by design",
}
# Routes anonymous users may reach, with the reason.
PUBLIC = {
    "api-schema": "the published OpenAPI schema",
    "api-docs": "the schema's interactive page",
    "api-redoc": "the schema's interactive page",
    "server-info": "the server clock the clients check",
    "main:home": "the landing page",
    "auth-login": "signing in",
    "auth-logout": "signing out",
    "auth-token": "signing in for a DRF token",
    "auth-jwt-auth": "signing in for a JWT",
    "auth-jwt-refresh": "refreshing a JWT (the token in the body is the credential)",
    "auth-jwt-verify": "checking a JWT (the token in the body is the credential)",
    "account-list": "POST account/ registers; its GET is 401 like any other",
    "org:invitation-accept": "the invitation e-mail's link offers a visitor to sign up or sign in",
}
# Signed links: the token in the URL is the credential, whoever holds it (docs/stores.md), so they are public and
# name no organisation; the file name after the token is only what the browser saves.
SIGNED_LINKS = {
    "stores:download": "a signed, expiring file link (ota/script/<z>/file/ answers it)",
    "telemetry": "ThingsBoard's device API: the device token in the path is the credential (docs/telemetry.md)",
    "telemetry-any-token": "the same, for a path whose token is not even shaped like one (a 401)",
}
PUBLIC.update(SIGNED_LINKS)
# Reads a member of the object's own organisation is refused, with the reason.
OWN_READ_REFUSED = {
    "invitation-accept": "only the invited address finds an invitation to accept",
    "org:invitation-accept": "only the invited address finds an invitation to accept",
    "account-detail": "an account is its owner's; the world's owner reads their own",
    "account-set-password": "an account is its owner's",
    "invitation-detail": "invitations are for members who manage users (the member role does not)",
    "event-data": "the world's events carry no data file",
    "note-attachment": "the world's notes carry no attachment",
    "device:key-download": "the world's device holds no stored key",
    "audit-detail": "the audit log is for owners; the member role reads none of it",
    "retentionrun-detail": "retention runs are for owners, as retention is; the member role reads none of them",
    **dict.fromkeys(
        (
            "destination-detail",
            "destination-deliveries",
            "destination-status",
            "forwarding:detail",
            "forwarding:replay",
        ),
        "forwarding destinations hold credentials; the member role cannot manage the organisation",
    ),
}
# Routes only staff reach; anyone else gets a 404 (or 403).
STAFF_ONLY_PREFIXES = ("staff/",)
WRITE_METHODS = ("post", "put", "patch", "delete")
# The routes are split into this many tests, which xdist may run in different processes (LONG_TESTS in the root
# conftest.py): the matrix, and the odd values after it, were each among the suite's longest tests.
SHARDS = 4


@dataclass
class Answer:
    route: str
    staff_only: bool
    role: str
    target: str  # "own" or "other"
    method: str
    url: str
    status: int
    body: bytes
    location: str


def _methods(route: Route) -> list[str]:
    actions = getattr(route.callback, "actions", None)
    if actions:  # a DRF viewset route
        return sorted(actions)
    view = getattr(route.callback, "view_class", None) or getattr(route.callback, "cls", None)
    if view is None:
        return ["get"]
    return [method for method in ("get", *WRITE_METHODS) if hasattr(view, method)]


def _url(route: Route, world: World, catalog) -> str:
    kwargs = route_kwargs(route.route, list(dict.fromkeys(route.params)), world, catalog)
    return reverse(route.name, kwargs=kwargs or None)


def _client(user: Any, api: bool) -> APIClient:
    client = APIClient()
    if user is not None:
        if api:
            client.credentials(HTTP_AUTHORIZATION=f"jwt {jwt_encode(user)}")
        else:
            client.force_login(user)
    return client


def _call(client: APIClient, method: str, url: str) -> Any:
    with rolled_back_request():
        response = getattr(client, method)(url, {}, format="json") if method != "get" else client.get(url)
    return response


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def quiet():
    logging.disable(logging.ERROR)  # one log line per 4xx would drown the report; failures are collected
    yield
    logging.disable(logging.NOTSET)


def test_the_routes_are_all_in_the_matrix(db, folder_stores):
    world, catalog = make_world(), make_catalog()
    missing = []
    for route in all_routes():
        if any(route.route.startswith(prefix) for prefix in EXEMPT_PREFIXES):
            continue
        try:
            _url(route, world, catalog)
        except Exception as exc:
            missing.append(f"{route.route} ({route.name or 'unnamed'}): {exc!r}")
    assert not missing, "routes the access matrix cannot fill (core/tests/world.py route_kwargs):\n" + "\n".join(
        missing
    )


def _matrix_routes() -> list[Route]:
    routes = [r for r in all_routes() if not any(r.route.startswith(p) for p in EXEMPT_PREFIXES)]
    return sorted(routes, key=lambda route: (route.route, route.name))


def _shard(routes: list[Route], shard: int) -> list[Route]:
    """Every SHARDS-th route: the shards together take every route once, and xdist runs them side by side."""
    return routes[shard::SHARDS]


def _routes_with_parameters() -> list[Route]:
    return [route for route in _matrix_routes() if route.params]


def test_the_shards_take_every_route_once():
    for routes in (_matrix_routes(), _routes_with_parameters()):
        shards = [route for shard in range(SHARDS) for route in _shard(routes, shard)]
        assert sorted(shards, key=lambda route: (route.route, route.name)) == routes


@pytest.mark.parametrize("shard", range(SHARDS))
def test_access_matrix(shard, db, folder_stores, quiet):
    own, other, catalog = make_world("Own"), make_world("Other"), make_catalog()
    people = {"anonymous": None, "member": own.member, "owner": own.owner, "staff": catalog.staff}
    answers: list[Answer] = []
    routes = _shard(_matrix_routes(), shard)
    assert routes
    for route in routes:
        api = route.route.startswith("api/v1/")
        own_url, other_url = _url(route, own, catalog), _url(route, other, catalog)
        for role, user in people.items():
            client = _client(user, api)
            targets = (
                {"own": own_url}
                if role in ("anonymous", "staff") or own_url == other_url
                else {
                    "own": own_url,
                    "other": other_url,
                }
            )
            for target, url in targets.items():
                for method in _methods(route):
                    response = _call(client, method, url)
                    answers.append(
                        Answer(
                            route=route.name,
                            staff_only=route.route.startswith(STAFF_ONLY_PREFIXES),
                            role=role,
                            target=target,
                            method=method,
                            url=url,
                            status=response.status_code,
                            body=_body(response) if response.status_code < 300 else b"",
                            location=response.get("Location", ""),
                        )
                    )
    failures = _judge(answers, other)
    counts = Counter(answer.status for answer in answers)
    print(
        f"\naccess matrix, shard {shard}: {len(routes)} routes, {len(answers)} requests: {dict(sorted(counts.items()))}"
    )
    assert not failures, f"{len(failures)} answers break the access rules:\n" + "\n".join(failures[:60])


def _judge(answers: list[Answer], other: World) -> list[str]:
    secrets = [value.encode() for value in other.slugs()]
    failures = []
    for a in answers:
        where = f"{a.method.upper()} {a.url} as {a.role} ({a.target} org, {a.route}): {a.status}"
        api = a.url.startswith("/api/v1/")
        if a.status >= 500:
            failures.append(f"{where}: a server error")
        elif a.role == "anonymous" and a.route not in PUBLIC:
            refused = a.status == 401 if api else (a.status == 302 and "/accounts/login/" in a.location)
            if not refused and a.status not in (403, 404, 405):
                failures.append(f"{where}: anonymous must be refused")
        elif a.staff_only and a.role != "staff":
            if a.status not in (403, 404):
                failures.append(f"{where}: a staff page must be 404 to anyone else")
        elif a.target == "other" and a.status < 400 and a.route not in SIGNED_LINKS:
            failures.append(f"{where}: another organisation's object must be 404")
        elif a.role in ("member", "owner") and a.target == "own" and a.method == "get":
            if a.status in (401, 404) and a.route not in OWN_READ_REFUSED:
                failures.append(f"{where}: the organisation's own object must be readable")
        elif a.role == "staff" and a.method == "get" and a.status == 401:
            failures.append(f"{where}: staff are signed in")
        if a.role in ("member", "owner") and a.status < 300:
            leaked = [secret.decode() for secret in secrets if secret in a.body]
            if leaked:
                failures.append(f"{where}: shows another organisation's {leaked}")
    return failures


def test_the_rules_flag_each_kind_of_breach(db):
    # The matrix passing means something only if its rules catch a breach when there is one.
    other = make_world("Breached")
    base = {"route": "device-detail", "staff_only": False, "method": "get", "body": b""}
    breaches = [
        Answer(**base, location="", role="member", target="own", url="/api/v1/device/1/", status=500),
        Answer(**base, location="", role="anonymous", target="own", url="/api/v1/device/1/", status=200),
        Answer(**base, location="", role="anonymous", target="own", url="/org/x/", status=200),
        Answer(**base, location="", role="owner", target="other", url="/api/v1/device/2/", status=200),
        Answer(**base, location="", role="owner", target="own", url="/api/v1/device/1/", status=404),
        Answer(**{**base, "staff_only": True}, location="", role="member", target="own", url="/staff/", status=200),
        Answer(
            **{**base, "body": other.device.slug.encode()},
            location="",
            role="member",
            target="own",
            url="/api/v1/device/",
            status=200,
        ),
    ]
    assert len(_judge(breaches, other)) == len(breaches)
    fine = [
        Answer(**base, location="", role="anonymous", target="own", url="/api/v1/device/1/", status=401),
        Answer(**base, role="anonymous", target="own", url="/org/x/", status=302, location="/accounts/login/?next=/"),
        Answer(**base, location="", role="owner", target="other", url="/api/v1/device/2/", status=404),
        Answer(**{**base, "body": b"{}"}, location="", role="owner", target="own", url="/api/v1/device/1/", status=200),
    ]
    assert _judge(fine, other) == []


# Odd values for every id and slug in every route (and the real value with a minus sign): "-1" is not object 1, and
# nothing is a 5xx.
ODD_VALUES = ["-1", "99999999999999999999999", "\u0661", "x" * 300, "%ED%A0%80"]


@pytest.mark.parametrize("shard", range(SHARDS))
def test_odd_ids_and_slugs_name_nothing_in_any_route(shard, db, folder_stores, quiet):
    own, catalog = make_world("Odd"), make_catalog()
    client = _client(own.owner, api=True)
    client.force_login(own.owner)
    failures, requests = [], 0
    routes = _shard(_routes_with_parameters(), shard)
    assert routes
    for route in routes:
        kwargs = route_kwargs(route.route, list(dict.fromkeys(route.params)), own, catalog)
        url = reverse(route.name, kwargs=kwargs)
        for name, value in kwargs.items():
            if name == "key_type" or route.name in SIGNED_LINKS:
                continue
            for odd in [f"-{value}", *ODD_VALUES]:
                odd_url = url.replace(f"/{value}", f"/{quote(odd, safe='%')}", 1)
                response = _call(client, "get", odd_url)
                requests += 1
                if response.status_code >= 500 or response.status_code < 300:
                    failures.append(f"GET {odd_url} ({route.name}, {name}={odd!r}): {response.status_code}")
                elif odd_url.startswith("/api/") and response["Content-Type"] != "application/json":
                    # The API's error contract holds where no route matches too (a digits-only id and "-1").
                    failures.append(f"GET {odd_url} ({route.name}, {name}={odd!r}): {response['Content-Type']}")
    print(f"\nodd ids and slugs, shard {shard}: {len(routes)} routes, {requests} requests")
    assert not failures, "\n".join(failures[:60])
