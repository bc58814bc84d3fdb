"""Shared test helpers: accounts and organisations made through the real services, pinned query counts, and the
generic scoping cases every API endpoint runs."""

from __future__ import annotations

import datetime
import importlib
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import django_filters
import pytest
from django.core import signals
from django.db import close_old_connections, connections, models, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from server import apps
from server.apps.authentication.authentication import jwt_encode
from server.apps.authentication.services import account_create
from server.apps.core import targets
from server.apps.core.targets import target_for_object
from server.apps.org.models import Org
from server.apps.org.roles import MEMBER, OPERATOR, OWNER
from server.apps.org.services import org_create, org_member_add

_sequence = itertools.count(1)


def project_subclasses(base: type, module: str) -> list[type]:
    """The project's subclasses of ``base`` (at any depth), once each app's ``<module>.py`` and every view (the URLs
    import them all) are imported."""
    for path in sorted(Path(apps.__file__).parent.glob(f"*/{module}.py")):
        importlib.import_module(f"server.apps.{path.parent.name}.{module}")
    assert get_resolver().url_patterns
    found: list[type] = []
    pending = [base]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("server."):
                found.append(sub)
    return found


def loose_filters(kind: type, strict: type) -> list[str]:
    """The filters of ``kind`` (django-filter's boolean or time filter) in the project's filtersets that are not the
    project's ``strict`` subclass of it, as ``module.FilterSet.name``."""
    return [
        f"{filterset.__module__}.{filterset.__name__}.{name}"
        for filterset in project_subclasses(django_filters.FilterSet, "filtersets")
        for name, declared in filterset.base_filters.items()
        if isinstance(declared, kind) and not isinstance(declared, strict)
    ]


def make_user(email: str | None = None, password: str = "pass-word-123", **fields):
    """An account whose e-mail address is verified (``email_verified=False`` for one that is not)."""
    email = email or f"user{next(_sequence)}@example.com"
    fields.setdefault("email_verified", True)
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

# Where a payload field is stored: a dotted attribute path on the saved object (``"org.slug"``) or a function of it.
StoredAs = str | Callable[[Any], Any]


def stored_value(obj: Any, source: StoredAs) -> Any:
    """What ``obj`` holds for a payload field stored as ``source`` (see ``StoredAs``)."""
    if callable(source):
        return source(obj)
    value = obj
    for name in source.split("."):
        if value is None:
            break
        value = getattr(value, name)
    return value


def _same(sent: Any, stored: Any) -> bool:
    """Whether a value sent in a JSON body is the value stored: timestamps are compared as instants, numbers sent
    for a decimal column by their decimal value, lists item by item. A related object must be named in
    ``stored_as`` (by the slug or id the API uses), never compared with a string."""
    if isinstance(stored, models.Model):
        raise TypeError(f"{stored!r} is a related object: map the field to the slug or id it is sent as (stored_as)")
    if isinstance(stored, datetime.datetime) and isinstance(sent, str):
        parsed = parse_datetime(sent)
        return parsed is not None and parsed == stored
    if isinstance(stored, Decimal) and isinstance(sent, int | float | str) and not isinstance(sent, bool):
        return Decimal(str(sent)) == stored
    if isinstance(stored, list | tuple) and isinstance(sent, list | tuple):
        return len(sent) == len(stored) and all(_same(a, b) for a, b in zip(sent, stored, strict=True))
    if isinstance(sent, bool) or isinstance(stored, bool):
        return sent is stored
    return sent == stored


def assert_saved(obj: Any, data: dict, *, stored_as: dict[str, StoredAs] | None = None) -> None:
    """Every field of ``data`` (a request body) is what ``obj``, read back from the database, holds: under the same
    name, or where ``stored_as`` says (in the manner of NetBox's ``assertInstanceEqual``)."""
    stored_as = stored_as or {}
    mismatches = []
    for field, sent in data.items():
        source = stored_as.get(field, field)
        stored = stored_value(obj, source)
        if not _same(sent, stored):
            where = "" if source == field else f" (stored as {source if isinstance(source, str) else 'computed'})"
            mismatches.append(f"{field}{where}: sent {sent!r}, saved {stored!r}")
    assert not mismatches, f"{type(obj).__name__} {obj.pk} was not saved as sent:\n  " + "\n  ".join(mismatches)


class ScopedEndpointCases:
    """The generic checks every scoped endpoint runs, mixed into one pytest class per endpoint (NetBox style).

    Each case builds its own organisation with ``make_org()`` and an object in it with ``make_object(org)``, then
    checks: anonymous (and ``jwt None``) → 401; another organisation → 404 and nothing changed; an allowed role
    reads, and what it writes or creates is saved as sent (the object is read back from the database and compared
    with the body, field by field); a role that may read but not write → 403 and nothing changed; a member whose role
    may not even see the object (``hidden_role``) → 404; staff → can read; and, when pinned, a list query count that
    does not grow with the number of rows. A case that does not apply to the endpoint is skipped with the reason
    (``-rs`` lists them), never passed without checking anything.

    A subclass sets what applies:

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

    Writes on the object (NetBox's ``update_data``)
        * ``write_method`` (``"patch"``, ``"put"``, ``"delete"``, ``"post"`` on ``detail_url``) and
          ``write_data(obj) -> dict``; ``None`` for read-only endpoints. ``expected_write_status``. After an
          allowed write the object is read back: a delete must have removed it, any other write must have saved
          every field of ``write_data`` (see ``stored_as``).
        * ``allowed_role``: a role that may write; ``denied_role``: a role that may read but not write (``None``
          when every member may write).

    Creation (NetBox's ``create_data``; left out unless ``create_data`` returns a dict)
        * ``create_data(org) -> dict | None``: a valid body creating something in ``org``.
        * ``create_url(org)``: where to POST (defaults to ``list_url``).
        * ``created_model``: the model whose rows a create adds (defaults to the type of ``make_object``'s result);
          an allowed create adds exactly one, saved as sent (and in ``org`` when the model has an ``org``);
          rejected creates must leave the count unchanged.
        * ``create_role`` (defaults to ``allowed_role``), ``expected_create_status``.
        * ``create_denied_role`` (defaults to ``denied_role``; ``None`` when any member may create) and
          ``create_denied_status``.
        * ``create_outsider_status``: what a user of another organisation gets when the body names this one
          (400 for a field naming an invisible object, 404 for a nested URL); ``None`` when a create names no
          organisation (``org/`` itself).

    What was saved
        * ``stored_as``: for a body field stored under another name or shape, where the saved object holds it: a
          dotted path (``{"org": "org.slug", "stream": "stream_slug"}``) or a function of the saved object
          (``{"enums": lambda t: [e.value for e in t.enums.all()]}``). Other fields are compared with the
          attribute of the same name; timestamps as instants, numbers sent for decimals by value.

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
    stored_as: dict[str, StoredAs] = {}

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

    def _write(self, client: APIClient, obj, data: dict | None = None) -> Any:
        call: Callable = getattr(client, self.write_method)
        return call(self.detail_url(obj), self.write_data(obj) if data is None else data, format="json")

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
        """A rejected write left the object as it was: still there, every field unchanged."""
        if not isinstance(obj, models.Model):
            return
        saved = type(obj)._base_manager.filter(pk=obj.pk).first()
        assert saved is not None, f"{obj!r} was deleted by a rejected write"
        changed = [
            field.attname
            for field in obj._meta.concrete_fields
            if getattr(saved, field.attname) != getattr(obj, field.attname)
        ]
        assert not changed, f"a rejected write changed {type(obj).__name__}.{', '.join(changed)}"

    def _created_model(self, obj) -> type[models.Model]:
        return self.created_model or type(obj)

    def _create(
        self, client: APIClient, org, obj, expected: tuple[int, ...], *, adds: int, data: dict | None = None
    ) -> tuple[Any, list]:
        """POST ``data`` (by default ``create_data(org)``), check the status and that exactly ``adds`` rows appeared;
        returns the response and the new rows, read from the database."""
        data = self.create_data(org) if data is None else data
        model = self._created_model(obj)
        before = set(model._base_manager.values_list("pk", flat=True))
        response = client.post(self.create_url(org), data, format="json")
        assert response.status_code in expected, (response.status_code, response.content)
        new = list(model._base_manager.exclude(pk__in=before))
        assert len(new) == adds, f"expected {adds} new {model.__name__} rows, found {len(new)}"
        return response, new

    def _create_denied_role(self) -> str | None:
        return self.denied_role if self.create_denied_role == INHERIT else self.create_denied_role

    def _not_configured(self, what: str, reason: str) -> None:
        """Skip a case that does not apply to this endpoint, saying which setting leaves it out and why."""
        pytest.skip(f"{type(self).__name__}: {what} not configured: {reason}")

    def _reads(self, obj) -> bool:
        return bool(self.detail_url(obj) or self.get_list_url(obj))

    # The cases ----------------------------------------------------------------------------------------------------

    def test_anonymous_is_401(self, db):
        org, obj = self._setup()
        if not self._reads(obj) and self.create_data(org) is None:
            self._not_configured("anonymous access", "no detail URL, list URL or create_data")
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
        if not self._reads(obj) and not (self.create_outsider_status and self.create_data(org) is not None):
            self._not_configured(
                "another organisation's access", "no detail URL, no list URL, no create_outsider_status"
            )
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

    def test_allowed_role_reads(self, db):
        org, obj = self._setup()
        if not self._reads(obj):
            self._not_configured("reads", "detail_url(obj) and the list URL are None (a create-only endpoint)")
        reader = make_member(org, self.read_role or self.allowed_role)
        if self.detail_url(obj):
            response = api_client(reader).get(self.detail_url(obj))
            assert response.status_code == 200, response.content
        if self.get_list_url(obj):
            self._assert_listed(self._list(api_client(reader), obj), obj)

    def test_allowed_role_write_is_saved(self, db):
        """NetBox's update case: the write succeeds and the object read back holds what was sent (or is gone)."""
        if not self._writes_detail():
            self._not_configured("writes", "write_method is None (a read-only endpoint)")
        org, obj = self._setup()
        if not self.detail_url(obj):
            self._not_configured("writes", "detail_url(obj) is None")
        data = self.write_data(obj)
        response = self._write(api_client(make_member(org, self.allowed_role)), obj, data)
        assert response.status_code in self.expected_write_status, response.content
        saved = type(obj)._base_manager.filter(pk=obj.pk).first()
        if self.write_method == "delete":
            assert saved is None, f"{obj!r} is still there after a {response.status_code} to its delete"
            return
        assert data, "write_data(obj) is empty: give the fields the write changes"
        assert saved is not None, f"{obj!r} disappeared after a {self.write_method}"
        assert_saved(saved, data, stored_as=self.stored_as)

    def test_allowed_role_create_is_saved(self, db):
        """NetBox's create case: one new row, in the organisation, holding what was sent."""
        org, obj = self._setup()
        data = self.create_data(org)
        if data is None:
            self._not_configured("creates", "create_data(org) returns None (the endpoint creates nothing here)")
        creator = make_member(org, self.create_role or self.allowed_role)
        _, (created,) = self._create(api_client(creator), org, obj, self.expected_create_status, adds=1, data=data)
        assert_saved(created, data, stored_as=self.stored_as)
        if not isinstance(created, Org) and getattr(created, "org_id", None) is not None:
            assert created.org_id == org.pk, f"created in organisation {created.org_id}, not {org.pk}"

    def test_role_without_permission_is_403_on_writes(self, db):
        denies_writes = self._writes_detail() and self.denied_role
        if not denies_writes and not self._create_denied_role():
            self._not_configured(
                "a role denied writes", "denied_role and create_denied_role are None (every member writes)"
            )
        org, obj = self._setup()
        denied = self._create_denied_role()
        creates = denied and self.create_data(org) is not None
        if not (denies_writes and self.detail_url(obj)) and not creates:
            self._not_configured(
                "a role denied writes", "no detail write, and create_data or create_denied_role is None"
            )
        if denies_writes and self.detail_url(obj):
            user = make_member(org, self.denied_role)
            assert api_client(user).get(self.detail_url(obj)).status_code == 200, "denied_role must be able to read"
            assert self._write(api_client(user), obj).status_code == 403
            self._assert_intact(obj)
        if creates:
            self._create(api_client(make_member(org, denied)), org, obj, self.create_denied_status, adds=0)

    def test_hidden_role_is_404(self, db):
        if not self.hidden_role:
            self._not_configured("a hidden role", "hidden_role is None (every member sees the object)")
        org, obj = self._setup()
        if not self._reads(obj):
            self._not_configured("a hidden role", "detail_url(obj) and the list URL are None")
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
            self._not_configured("staff reads", "staff_can_read is False")
        _, obj = self._setup()
        if not self._reads(obj):
            self._not_configured("staff reads", "detail_url(obj) and the list URL are None")
        client = api_client(make_user(is_staff=True))
        if self.detail_url(obj):
            assert client.get(self.detail_url(obj)).status_code == 200
        if self.get_list_url(obj):
            self._assert_listed(self._list(client, obj), obj)

    def test_list_query_count_is_constant(self, db):
        """The list makes ``list_query_count`` queries with one object and with five: no query per row."""
        if self.list_query_count is None:
            self._not_configured("a pinned list query count", "list_query_count is None")
        org, obj = self._setup()
        if not self.get_list_url(obj):
            self._not_configured("a pinned list query count", "the endpoint has no list (no list URL)")
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


def make_target_of_kind(org, kind: str) -> models.Model:
    """A new object of ``kind`` (``server.apps.core.targets``) in ``org``, for metadata to name: the organisation
    itself, its owner's account, or a new project, claimed device, data block, stream or variable."""
    # The factories live with the apps' tests, which import this module: import them when first needed.
    from server.apps.datablock.tests.factories import make_block
    from server.apps.device.tests.factories import make_device, make_project, make_stream, make_variable

    builders: dict[str, Callable[[], models.Model]] = {
        targets.ORG: lambda: org,
        targets.USER: lambda: org.created_by,
        targets.PROJECT: lambda: make_project(org),
        targets.DEVICE: lambda: make_device(make_project(org)),
        targets.BLOCK: lambda: make_block(org, next(_sequence)),
        targets.STREAM: lambda: make_stream(make_device(make_project(org))),
        targets.VARIABLE: lambda: make_variable(make_project(org), lid=0x5000 + next(_sequence) % 0x1000),
    }
    return builders[kind]()


class TargetedEndpointCases(ScopedEndpointCases):
    """The generic cases of a metadata endpoint whose rows name what they belong to by a target slug (``property/``,
    ``config/attr/``, ``note/``, ``location/``; see ``server/apps/core/targets.py``), on top of the scoped ones.

    It checks that the list needs ``?target=`` (400 without it, for a malformed slug or a kind the endpoint does not
    take; 404 for an unknown one); that ``?target=`` lists that target's rows and no other's; that a POST against
    each kind of target the endpoint takes saves one row on that target, in its organisation, as sent (the target
    named in the body or in ``?target=``); and that another organisation's target (another user's account, for
    ``@user``) is a 404 for lists and posts, with nothing saved.

    A subclass sets:
        * ``endpoint``: the list URL (``"/api/v1/property/"``); rows are at ``<endpoint><id>/``.
        * ``created_model``: the model of its rows.
        * ``target_kinds``: the kinds it takes (the view's own tuple, e.g. ``PROPERTY_TARGET_KINDS``).
        * ``default_kind``: the kind of target the scoped cases use (a device unless said otherwise).
        * ``make_row(target_obj) -> row``: a new row on the object, made through the app's service.
        * ``row_data(target_obj) -> dict``: a valid POST body without ``target``; each call may be used for
          another row on the same target.
    and the scoped cases' roles, ``write_data`` and ``list_query_count``.
    """

    endpoint: str
    target_kinds: tuple[str, ...] = ()
    default_kind: str = targets.DEVICE
    list_key = "id"

    def make_row(self, target_obj) -> models.Model:
        raise NotImplementedError

    def row_data(self, target_obj) -> dict:
        raise NotImplementedError

    # The scoped cases, from the above ------------------------------------------------------------------------------

    def target_in(self, org, kind: str | None = None) -> models.Model:
        """The test's target of ``kind`` in ``org``: made on first use, then the same one, so a test's rows share
        it."""
        made = self.__dict__.setdefault("_targets", {})
        key = (org.pk, kind or self.default_kind)
        if key not in made:
            made[key] = make_target_of_kind(org, key[1])
        return made[key]

    def make_object(self, org):
        return self.make_row(self.target_in(org))

    def get_list_url(self, obj) -> str:
        return self.endpoint

    def list_params(self, obj) -> dict:
        return {"target": obj.target}

    def detail_url(self, obj) -> str:
        return f"{self.endpoint}{obj.id}/"

    def create_url(self, org) -> str:
        return self.endpoint

    def create_data(self, org) -> dict:
        target = self.target_in(org)
        return {"target": target_for_object(target).slug, **self.row_data(target)}

    # Helpers ------------------------------------------------------------------------------------------------------

    def _row_model(self) -> type[models.Model]:
        assert self.created_model is not None, "set created_model: the model of the endpoint's rows"
        return self.created_model

    def _assert_saved_on(self, row, target_obj, data: dict) -> None:
        target = target_for_object(target_obj)
        assert (row.target, row.target_kind, row.org_id) == (target.slug, target.kind, target.org_id)
        assert_saved(row, data, stored_as=self.stored_as)

    # The cases ----------------------------------------------------------------------------------------------------

    def test_list_needs_a_target(self, db):
        org = make_org()
        client = api_client(org.created_by)
        response = client.get(self.endpoint)
        assert response.status_code == 400, response.content
        assert "target" in response.json()
        assert client.get(self.endpoint, {"target": "d--zz"}).status_code == 400
        assert client.get(self.endpoint, {"target": "d--ffff"}).status_code == 404
        for kind in [kind for kind, _ in targets.KIND_CHOICES if kind not in self.target_kinds]:
            slug = target_for_object(make_target_of_kind(org, kind)).slug
            response = client.get(self.endpoint, {"target": slug})
            assert response.status_code == 400, (kind, response.content)

    def test_target_lists_its_own_rows(self, db):
        org = make_org()
        rows = {kind: self.make_row(self.target_in(org, kind)) for kind in self.target_kinds}
        client = api_client(org.created_by)
        for kind, row in rows.items():
            response = client.get(self.endpoint, {"target": row.target})
            assert response.status_code == 200, (kind, response.content)
            assert [item["id"] for item in response.json()["results"]] == [row.pk], kind

    def test_create_on_each_kind_of_target(self, db):
        org = make_org()
        client = api_client(org.created_by)
        model = self._row_model()
        for kind in self.target_kinds:
            target_obj = self.target_in(org, kind)
            slug = target_for_object(target_obj).slug
            for url, body in (
                (self.endpoint, {"target": slug, **self.row_data(target_obj)}),
                (f"{self.endpoint}?{urlencode({'target': slug})}", self.row_data(target_obj)),
            ):
                before = set(model._base_manager.values_list("pk", flat=True))
                response = client.post(url, body, format="json")
                assert response.status_code == 201, (kind, url, response.content)
                (row,) = model._base_manager.exclude(pk__in=before)
                assert response.json()["id"] == row.pk
                self._assert_saved_on(row, target_obj, {k: v for k, v in body.items() if k != "target"})

    def test_another_org_s_target_is_404(self, db):
        org, other = make_org(), make_org()
        client = api_client(org.created_by)
        model = self._row_model()
        for kind in self.target_kinds:
            theirs = self.target_in(other, kind)
            self.make_row(theirs)
            slug = target_for_object(theirs).slug
            count = model._base_manager.count()
            assert client.get(self.endpoint, {"target": slug}).status_code == 404, kind
            response = client.post(self.endpoint, {"target": slug, **self.row_data(theirs)}, format="json")
            assert response.status_code == 404, (kind, response.content)
            assert model._base_manager.count() == count, f"a row was saved on another organisation's {kind}"


def analytics_login(*, email: str, password: str, domain: str):
    """Log ``iotile-analytics-core`` in to ``domain`` as ``email``.

    The client keeps one login per domain in a class-level cache, and when another user logs in to the same domain
    it loses the new token (later sessions then prompt on stdin). Live servers reuse ports between tests, so start
    from an empty cache.
    """
    from iotile_analytics import core as analytics

    analytics.CloudSession._login_cache.clear()
    return analytics.CloudSession(user=email, password=password, domain=domain, verify=False)


@contextmanager
def rolled_back_request() -> Iterator[None]:
    """A savepoint around one request that is rolled back afterwards, so every request meets the same data. It is
    marked as a test's own block, as Django's TestCase marks its transactions, so the durable services a request
    calls (``transaction.atomic(durable=True)``) run inside it as they do in a test."""
    block = transaction.atomic()
    block._from_testcase = True
    with block:
        yield
        transaction.set_rollback(True)


@contextmanager
def connections_kept_between_requests() -> Iterator[None]:
    """Requests run through the WSGI application in the test's thread keep its database connection open when they
    end, as Django's test client arranges (the handler would close it, and with it the test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
