"""Shared test helpers: accounts and organisations made through the real services, pinned query counts, and the
generic scoping cases every API endpoint runs."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, models
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


# ``create_denied_role`` default: the same role as ``denied_role``.
INHERIT = "inherit"


class ScopedEndpointCases:
    """The generic checks every scoped endpoint runs, mixed into one pytest class per endpoint (NetBox style).

    Each case builds its own organisation with ``make_org()`` and an object in it with ``make_object(org)``, then
    checks: anonymous (and ``jwt None``) → 401; another organisation → 404 and nothing changed; an allowed role →
    success; a role that may read but not write → 403 and nothing changed; a member whose role may not even see the
    object (``hidden_role``) → 404; staff → can read; and, when pinned, a list query count that does not grow with
    the number of rows.

    A subclass sets what applies (every case skips what is not configured):

    Objects and reads
        * ``make_object(org) -> obj``: a new object in ``org``; each call must make another row the list shows.
        * ``detail_url(obj) -> str | None``: the object's URL (``None`` when the endpoint has no detail route).
        * ``list_url``: the list URL, or override ``get_list_url(obj)`` for a nested list
          (``org/<slug>/members/``); ``list_params(obj)`` adds query parameters. ``None``: no list.
        * ``list_key``: a field of the list rows naming the object (``"slug"``, ``"id"``), compared with
          ``list_key_value(obj)`` (by default ``str(obj.<list_key>)``): allowed users must find the object in the
          list, other organisations must not. Without it the checks fall back to counts (other organisations
          must see an empty list, so set it when their own objects show in the same list).
        * ``read_role``: the role used for reads (defaults to ``allowed_role``).
        * ``hidden_role``: a member role that must not see the object at all (404), e.g. an invitation for a
          plain member. ``None``: every member sees it.
        * ``staff_can_read``: staff (not a member) may read the object and find it listed. Default ``True``.
        * ``list_query_count``: the pinned number of queries of one list request (authentication included),
          checked with 1 and with 5 objects.

    Writes on the object
        * ``write_method`` (``"patch"``, ``"put"``, ``"delete"``, ``"post"`` on ``detail_url``) and
          ``write_data(obj) -> dict``; ``None`` for read-only endpoints. ``expected_write_status``.
        * ``allowed_role``: a role that may write; ``denied_role``: a role that may read but not write (``None``
          when every member may write).

    Creation (skipped unless ``create_data`` returns a dict)
        * ``create_data(org) -> dict | None``: a valid body creating something in ``org``.
        * ``create_url(org)``: where to POST (defaults to ``list_url``).
        * ``created_model``: the model whose rows a create adds (defaults to the type of ``make_object``'s result);
          rejected creates must leave its count unchanged.
        * ``create_role`` (defaults to ``allowed_role``), ``expected_create_status``.
        * ``create_denied_role`` (defaults to ``denied_role``; ``None`` when any member may create) and
          ``create_denied_status``.
        * ``create_outsider_status``: what a user of another organisation gets when the body names this one
          (400 for a field naming an invisible object, 404 for a nested URL); ``None`` when a create names no
          organisation (``org/`` itself).

    Coverage
        * ``viewset``: optional, the view class (or classes) the class checks. The meta-test in
          ``core/tests/test_coverage.py`` normally finds it by resolving the URLs above; set it only when the
          objects cannot be built outside the class's own fixtures.
    """

    viewset: type | tuple[type, ...] | None = None
    list_url: str | None = None
    list_key: str | None = None
    write_method: str | None = "patch"
    allowed_role: str = OWNER
    denied_role: str | None = OPERATOR
    read_role: str | None = None
    hidden_role: str | None = None
    staff_can_read: bool = True
    list_query_count: int | None = None
    expected_write_status: tuple[int, ...] = (200, 201, 202, 204)

    created_model: type[models.Model] | None = None
    create_role: str | None = None
    create_denied_role: str | None = INHERIT
    expected_create_status: tuple[int, ...] = (201,)
    create_denied_status: tuple[int, ...] = (403,)
    create_outsider_status: tuple[int, ...] | None = (400, 404)

    # What a subclass provides -------------------------------------------------------------------------------------

    def make_object(self, org) -> Any:
        raise NotImplementedError

    def detail_url(self, obj) -> str | None:
        raise NotImplementedError

    def write_data(self, obj) -> dict:
        return {}

    def get_list_url(self, obj) -> str | None:
        return self.list_url

    def list_params(self, obj) -> dict:
        return {}

    def list_key_value(self, obj) -> str:
        return str(getattr(obj, self.list_key))

    def create_data(self, org) -> dict | None:
        return None

    def create_url(self, org) -> str | None:
        return self.list_url

    # Helpers ------------------------------------------------------------------------------------------------------

    def _setup(self) -> tuple[Any, Any]:
        org = make_org()
        return org, self.make_object(org)

    def _write(self, client: APIClient, obj) -> Any:
        call: Callable = getattr(client, self.write_method)
        return call(self.detail_url(obj), self.write_data(obj), format="json")

    def _writes_detail(self) -> bool:
        return bool(self.write_method)

    def _list(self, client: APIClient, obj):
        return client.get(self.get_list_url(obj), self.list_params(obj))

    def _assert_listed(self, response, obj) -> None:
        assert response.status_code == 200, response.content
        if self.list_key:
            keys = [str(row[self.list_key]) for row in response.json()["results"]]
            assert self.list_key_value(obj) in keys, f"{self.list_key_value(obj)} not listed in {keys}"
        else:
            assert response.json()["count"] >= 1

    def _assert_not_listed(self, response, obj) -> None:
        assert response.status_code in (200, 404), response.content
        if response.status_code == 404:
            return
        if self.list_key:
            keys = [str(row[self.list_key]) for row in response.json()["results"]]
            assert self.list_key_value(obj) not in keys, f"{self.list_key_value(obj)} listed to an outsider"
        else:
            assert response.json()["count"] == 0

    @staticmethod
    def _assert_intact(obj) -> None:
        if isinstance(obj, models.Model):
            assert type(obj)._base_manager.filter(pk=obj.pk).exists(), f"{obj!r} was deleted by a rejected write"

    def _created_model(self, obj) -> type[models.Model]:
        return self.created_model or type(obj)

    def _create(self, client: APIClient, org, obj, expected: tuple[int, ...], *, adds: int) -> Any:
        """POST ``create_data(org)`` and check the status and that exactly ``adds`` rows appeared."""
        data = self.create_data(org)
        model = self._created_model(obj)
        before = model._base_manager.count()
        response = client.post(self.create_url(org), data, format="json")
        assert response.status_code in expected, (response.status_code, response.content)
        assert model._base_manager.count() == before + adds
        return response

    def _create_denied_role(self) -> str | None:
        return self.denied_role if self.create_denied_role == INHERIT else self.create_denied_role

    # The cases ----------------------------------------------------------------------------------------------------

    def test_anonymous_is_401(self, db):
        org, obj = self._setup()
        anonymous = APIClient()
        bad_token = APIClient()
        bad_token.credentials(HTTP_AUTHORIZATION="jwt None")
        for client in (anonymous, bad_token):
            if self.get_list_url(obj):
                assert self._list(client, obj).status_code == 401
            if self.detail_url(obj):
                assert client.get(self.detail_url(obj)).status_code == 401
                if self._writes_detail():
                    assert self._write(client, obj).status_code == 401
                    self._assert_intact(obj)
            if self.create_data(org) is not None:
                self._create(client, org, obj, (401,), adds=0)

    def test_other_org_is_404(self, db):
        org, obj = self._setup()
        outsider = make_org().created_by
        client = api_client(outsider)
        if self.detail_url(obj):
            assert client.get(self.detail_url(obj)).status_code == 404
            if self._writes_detail():
                assert self._write(client, obj).status_code == 404
                self._assert_intact(obj)
        if self.get_list_url(obj):
            self._assert_not_listed(self._list(client, obj), obj)
        if self.create_outsider_status and self.create_data(org) is not None:
            self._create(client, org, obj, self.create_outsider_status, adds=0)

    def test_allowed_role(self, db):
        org, obj = self._setup()
        reader = make_member(org, self.read_role or self.allowed_role)
        if self.detail_url(obj):
            response = api_client(reader).get(self.detail_url(obj))
            assert response.status_code == 200, response.content
        if self.get_list_url(obj):
            self._assert_listed(self._list(api_client(reader), obj), obj)
        if self._writes_detail() and self.detail_url(obj):
            writer = make_member(org, self.allowed_role)
            response = self._write(api_client(writer), obj)
            assert response.status_code in self.expected_write_status, response.content
        if self.create_data(org) is not None:
            creator = make_member(org, self.create_role or self.allowed_role)
            self._create(api_client(creator), org, obj, self.expected_create_status, adds=1)

    def test_role_without_permission_is_403_on_writes(self, db):
        if not (self._writes_detail() and self.denied_role) and not self._create_denied_role():
            return
        org, obj = self._setup()
        if self._writes_detail() and self.denied_role and self.detail_url(obj):
            user = make_member(org, self.denied_role)
            assert api_client(user).get(self.detail_url(obj)).status_code == 200, "denied_role must be able to read"
            assert self._write(api_client(user), obj).status_code == 403
            self._assert_intact(obj)
        denied = self._create_denied_role()
        if denied and self.create_data(org) is not None:
            self._create(api_client(make_member(org, denied)), org, obj, self.create_denied_status, adds=0)

    def test_hidden_role_is_404(self, db):
        if not self.hidden_role:
            return
        org, obj = self._setup()
        client = api_client(make_member(org, self.hidden_role))
        if self.detail_url(obj):
            assert client.get(self.detail_url(obj)).status_code == 404
            if self._writes_detail():
                assert self._write(client, obj).status_code == 404
                self._assert_intact(obj)
        if self.get_list_url(obj):
            self._assert_not_listed(self._list(client, obj), obj)

    def test_staff_can_read(self, db):
        if not self.staff_can_read:
            return
        _, obj = self._setup()
        client = api_client(make_user(is_staff=True))
        if self.detail_url(obj):
            assert client.get(self.detail_url(obj)).status_code == 200
        if self.get_list_url(obj):
            self._assert_listed(self._list(client, obj), obj)

    def test_list_query_count_is_constant(self, db):
        """The list makes ``list_query_count`` queries with one object and with five: no query per row."""
        if self.list_query_count is None:
            return
        org, obj = self._setup()
        client = api_client(make_member(org, self.read_role or self.allowed_role))
        url, params = self.get_list_url(obj), self.list_params(obj)  # outside the count: they may query
        with assert_query_count(self.list_query_count):
            first = client.get(url, params)
        assert first.status_code == 200, first.content
        for _ in range(4):
            self.make_object(org)
        with assert_query_count(self.list_query_count):
            more = client.get(url, params)
        assert more.json()["count"] == first.json()["count"] + 4, "make_object must add a row the list shows"


def analytics_login(*, email: str, password: str, domain: str):
    """Log ``iotile-analytics-core`` in to ``domain`` as ``email``.

    The client keeps one login per domain in a class-level cache, and when another user logs in to the same domain
    it loses the new token (later sessions then prompt on stdin). Live servers reuse ports between tests, so start
    from an empty cache.
    """
    from iotile_analytics import core as analytics

    analytics.CloudSession._login_cache.clear()
    return analytics.CloudSession(user=email, password=password, domain=domain, verify=False)
