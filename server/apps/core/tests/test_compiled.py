"""``CompiledQuery``: a queryset compiled once, run with other values, answers what the queryset answers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from server.apps.core.compiled import CompiledQuery, instance_from_columns
from server.apps.core.testing import assert_query_count, make_member, make_org
from server.apps.org.models import OrgMembership
from server.apps.org.roles import MEMBER, OPERATOR


def _memberships(user_id: int, role: str):
    return OrgMembership.objects.filter(user_id=user_id, role=role).values_list("org_id", "permissions", "user_id")


@pytest.mark.django_db
def test_the_same_rows_as_the_queryset_compiled_once():
    org = make_org()
    member, operator = make_member(org, MEMBER), make_member(org, OPERATOR)
    compiled = CompiledQuery(_memberships, user_id=int, role=str)
    for user, role in ((member, MEMBER), (operator, OPERATOR), (member, OPERATOR)):
        with CaptureQueriesContext(connection) as queries:
            rows = compiled.rows(user_id=user.pk, role=role)
        # JSON comes back as Python objects: Django's converters apply.
        assert rows == list(_memberships(user.pk, role)), (user, role)
        assert len(queries.captured_queries) == 1
    assert rows == []
    assert isinstance(compiled.rows(user_id=member.pk, role=MEMBER)[0][1], dict)


@pytest.mark.django_db
def test_fields_come_in_the_order_values_list_names_them():
    org = make_org()
    member = make_member(org, MEMBER)
    compiled = CompiledQuery(
        lambda user_id: OrgMembership.objects.filter(user_id=user_id).values_list("role", "org_id"), user_id=int
    )
    assert compiled.rows(user_id=member.pk) == [(MEMBER, org.pk)]


@pytest.mark.django_db
def test_a_placeholder_that_is_not_a_parameter_of_its_own_is_refused():
    contains = CompiledQuery(lambda role: OrgMembership.objects.filter(role__contains=role).values_list("pk"), role=str)
    with pytest.raises(ValueError, match="other than as a parameter"):
        contains.rows(role=MEMBER)
    with pytest.raises(TypeError, match="values_list"):
        CompiledQuery(lambda user_id: OrgMembership.objects.filter(user_id=user_id), user_id=int).rows(user_id=1)


@pytest.mark.django_db
def test_an_instance_from_some_columns_defers_the_rest():
    org = make_org()
    membership = OrgMembership.objects.get(org=org)
    loaded = instance_from_columns(OrgMembership, "default", {"id": membership.pk, "role": membership.role})
    with assert_query_count(0):
        assert (loaded.pk, loaded.role) == (membership.pk, membership.role)
    with assert_query_count(1):  # a deferred field loads on use, as with only()
        assert loaded.org_id == org.pk


@pytest.mark.django_db
def test_a_datetime_placeholder_and_the_statement_for_a_caller_to_run():
    org = make_org()
    member = make_member(org, MEMBER)
    joined = OrgMembership.objects.get(user=member).created_on

    def since(start):
        return OrgMembership.objects.filter(user_id=member.pk, created_on__gte=start).values_list("role")

    compiled = CompiledQuery(since, start=datetime)
    assert compiled.rows(start=joined) == [(MEMBER,)]
    assert compiled.rows(start=joined + timedelta(microseconds=1)) == []
    using, sql, params = compiled.statement(start=joined)
    assert (using, params.count(joined)) == ("default", 1)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        assert cursor.fetchall() == [(MEMBER,)]
    with pytest.raises(TypeError, match="an int, a str or a datetime"):
        CompiledQuery(since, start=float).rows(start=1.0)


def _prepared_here(cursor) -> set[str]:
    cursor.execute("SELECT name FROM pg_prepared_statements")
    return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db
def test_rows_are_read_by_a_statement_prepared_once_per_connection():
    org = make_org()
    member = make_member(org, MEMBER)
    compiled = CompiledQuery(_memberships, user_id=int, role=str)
    with connection.cursor() as cursor:
        before = _prepared_here(cursor)
        assert compiled.rows(user_id=member.pk, role=MEMBER) == list(_memberships(member.pk, MEMBER))
        (name,) = _prepared_here(cursor) - before
        with CaptureQueriesContext(connection) as queries:
            assert compiled.rows(user_id=member.pk, role=OPERATOR) == []
        (executed,) = [query["sql"] for query in queries.captured_queries]
        assert executed.startswith(f"EXECUTE {name}(")
        assert f"'{OPERATOR}'" in executed
        assert _prepared_here(cursor) - before == {name}


@pytest.mark.django_db(transaction=True)
def test_a_statement_the_connection_lost_is_read_plain_then_prepared_again():
    """Anyone's DEALLOCATE leaves the connection without the statement: outside a transaction the call still answers,
    and the next prepares it again; inside one the error is the transaction's."""
    org = make_org()
    member = make_member(org, MEMBER)
    compiled = CompiledQuery(_memberships, user_id=int, role=str)
    expected = list(_memberships(member.pk, MEMBER))
    assert compiled.rows(user_id=member.pk, role=MEMBER) == expected
    # Another connection (Django opens one after a close) has none: it prepares the statement again.
    connection.close()
    assert compiled.rows(user_id=member.pk, role=MEMBER) == expected
    with connection.cursor() as cursor:
        assert len(_prepared_here(cursor)) == 1
        cursor.execute("DEALLOCATE ALL")
        with CaptureQueriesContext(connection) as queries:
            assert compiled.rows(user_id=member.pk, role=MEMBER) == expected
        assert [query["sql"].split()[0] for query in queries.captured_queries] == ["EXECUTE", "SELECT"]
        assert compiled.rows(user_id=member.pk, role=MEMBER) == expected
        assert len(_prepared_here(cursor)) == 1
        cursor.execute("DEALLOCATE ALL")
    with pytest.raises(DatabaseError, match="does not exist"), transaction.atomic():
        compiled.rows(user_id=member.pk, role=MEMBER)
    assert compiled.rows(user_id=member.pk, role=MEMBER) == expected


@pytest.mark.django_db(transaction=True)
def test_a_column_whose_type_changed_under_the_statement_is_read_plain_then_prepared_again():
    """PostgreSQL plans a prepared statement again when its tables change, but refuses to run one whose columns
    would change type ("cached plan must not change result type"): the call reads the plain statement instead."""
    org = make_org()
    member = make_member(org, MEMBER)
    compiled = CompiledQuery(
        lambda user_id: OrgMembership.objects.filter(user_id=user_id).values_list("role"), user_id=int
    )
    assert compiled.rows(user_id=member.pk) == [(MEMBER,)]
    table = OrgMembership._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "role" TYPE text')
        try:
            with CaptureQueriesContext(connection) as queries:
                assert compiled.rows(user_id=member.pk) == [(MEMBER,)]
            assert [query["sql"].split()[0] for query in queries.captured_queries] == ["EXECUTE", "SELECT"]
            before = _prepared_here(cursor)
            assert compiled.rows(user_id=member.pk) == [(MEMBER,)]
            assert len(_prepared_here(cursor) - before) == 1
        finally:
            cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "role" TYPE varchar(3)')
