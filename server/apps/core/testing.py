"""Shared test helpers: accounts and organisations made through the real services, pinned query counts, and the
generic scoping cases every API endpoint runs."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from server.apps.authentication.authentication import jwt_encode
from server.apps.authentication.services import account_create
from server.apps.org.roles import MEMBER, OPERATOR, OWNER
from server.apps.org.services import org_create, org_member_add

_sequence = itertools.count(1)


def make_user(email: str | None = None, password: str = "pass-word-123", **fields):
    email = email or f"user{next(_sequence)}@example.com"
    return account_create(email=email, password=password, **fields)


def make_org(owner=None, name: str | None = None):
    owner = owner or make_user()
    return org_create(name=name or f"Org {next(_sequence)}", created_by=owner)


def make_member(org, role: str = MEMBER, **fields):
    user = make_user(**fields)
    org_member_add(org=org, user=user, role=role)
    return user


def api_client(user=None) -> APIClient:
    """A client authenticated the way the IOTile clients are: ``Authorization: jwt <token>``."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"jwt {jwt_encode(user)}")
    return client


@contextmanager
def assert_query_count(expected: int, using: str = "default") -> Iterator[CaptureQueriesContext]:
    """Pin the number of queries a block makes; on a mismatch the failure lists them."""
    with CaptureQueriesContext(connections[using]) as context:
        yield context
    executed = len(context.captured_queries)
    if executed != expected:
        queries = "\n".join(f"{i}. {q['sql']}" for i, q in enumerate(context.captured_queries, 1))
        raise AssertionError(f"expected {expected} queries on {using}, ran {executed}:\n{queries}")


class ScopedEndpointCases:
    """The four ways every scoped endpoint is checked, mixed into a pytest class per endpoint.

    A subclass sets:

    * ``list_url``: the list URL (``None`` when the endpoint has no list);
    * ``make_object(org) -> obj`` and ``detail_url(obj) -> str``;
    * ``write_method`` and ``write_data(obj) -> dict``: a write an allowed role may make on ``obj``
      (``None`` for read-only endpoints);
    * ``allowed_role``: a role that may write; ``denied_role``: a role that may read but not write
      (``None`` when every member may write);
    * ``read_role``: the role used for the read checks (defaults to ``allowed_role``).
    """

    list_url: str | None = None
    write_method: str | None = "patch"
    allowed_role: str = OWNER
    denied_role: str | None = OPERATOR
    read_role: str | None = None
    expected_write_status: tuple[int, ...] = (200, 201, 202, 204)

    def make_object(self, org) -> Any:
        raise NotImplementedError

    def detail_url(self, obj) -> str:
        raise NotImplementedError

    def write_data(self, obj) -> dict:
        return {}

    def _setup(self) -> tuple[Any, Any]:
        org = make_org()
        return org, self.make_object(org)

    def _write(self, client: APIClient, obj) -> Any:
        call: Callable = getattr(client, self.write_method)
        return call(self.detail_url(obj), self.write_data(obj), format="json")

    def test_anonymous_is_401(self, db):
        _, obj = self._setup()
        client = APIClient()
        if self.list_url:
            assert client.get(self.list_url).status_code == 401
        assert client.get(self.detail_url(obj)).status_code == 401
        bad_token = APIClient()
        bad_token.credentials(HTTP_AUTHORIZATION="jwt None")
        assert bad_token.get(self.detail_url(obj)).status_code == 401

    def test_other_org_is_404(self, db):
        _, obj = self._setup()
        outsider = make_org().created_by
        client = api_client(outsider)
        assert client.get(self.detail_url(obj)).status_code == 404
        if self.write_method:
            assert self._write(client, obj).status_code == 404
        if self.list_url:
            response = client.get(self.list_url, self.list_params(obj))
            assert response.status_code in (200, 404)
            if response.status_code == 200:
                assert response.json()["count"] == 0

    def test_allowed_role(self, db):
        org, obj = self._setup()
        reader = make_member(org, self.read_role or self.allowed_role)
        response = api_client(reader).get(self.detail_url(obj))
        assert response.status_code == 200, response.content
        if self.list_url:
            listed = api_client(reader).get(self.list_url, self.list_params(obj))
            assert listed.status_code == 200, listed.content
            assert listed.json()["count"] >= 1
        if self.write_method:
            writer = make_member(org, self.allowed_role)
            response = self._write(api_client(writer), obj)
            assert response.status_code in self.expected_write_status, response.content

    def test_role_without_permission_is_403_on_writes(self, db):
        if not self.write_method or not self.denied_role:
            return
        org, obj = self._setup()
        user = make_member(org, self.denied_role)
        assert self._write(api_client(user), obj).status_code == 403

    def list_params(self, obj) -> dict:
        return {}
