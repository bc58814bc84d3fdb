"""Querysets compiled to SQL once and run again with other values.

For a small indexed read on every request (the account behind a token, the stream a data read names), Django's
building and compiling of the queryset costs several times what PostgreSQL spends planning and running it. A
:class:`CompiledQuery` builds its queryset once, with a placeholder for each value that changes from call to call,
keeps the SQL and where the placeholders landed among its parameters, and from then on runs that SQL with the call's
values. What the statement reads, and whom it lets read it (scoping included), is still what the queryset says, and
the database decides it afresh on every call: nothing is cached but Django's own work and PostgreSQL's parsing and
planning, so there is nothing to invalidate when permissions change.

:meth:`CompiledQuery.rows` runs the statement prepared on the connection (``PREPARE`` once per connection, then
``EXECUTE``): for these lookups PostgreSQL's parsing and planning took longer than the reading. A prepared statement
lives as long as its connection; PostgreSQL plans it again by itself when a table it reads changes. When the
connection no longer has it (anyone's ``DEALLOCATE``), or cannot run it as prepared (a column's type changed under
it), the call runs the plain statement and the next prepares it again. Names are unique to each preparation, so a
pooler that passes server connections between clients never runs another client's statement under the same name.

A queryset whose SQL text depends on a value (a staff flag that drops a condition, a list's length) has one shape per
such value: keep one ``CompiledQuery`` per shape. A placeholder that lands in the SQL text rather than among the
parameters, or inside another value (``%slug%``), is refused when compiling; one the SQL does not use is ignored.
"""

from __future__ import annotations

import itertools
import re
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.db import DatabaseError, connections
from django.db.models import Model, QuerySet
from django.db.models.query import ValuesListIterable

M = TypeVar("M", bound=Model)

# Placeholder values: integers no id reaches, strings no slug holds, instants of the first day of year 1.
_INT_PLACEHOLDER = -(1 << 62)
_STR_PLACEHOLDER = "\x1fplaceholder-{}\x1f"
_DATETIME_PLACEHOLDER = datetime(1, 1, 1, tzinfo=UTC)
# The kinds a placeholder may be, each with the type its value is prepared with.
_KINDS = {int: "bigint", str: "text", datetime: "timestamptz"}
# SQLSTATEs of an EXECUTE whose prepared statement the connection no longer has, or can no longer run as prepared
# ("cached plan must not change result type").
_PREPARED_LOST = {"26000", "0A000"}
_KEYS = itertools.count(1)
# The EXECUTE of each statement prepared on each open connection, by the DB-API connection (Django opens a new one
# after a close) and the statement's key.
_PREPARED: weakref.WeakKeyDictionary[Any, dict[int, str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Statement:
    using: str
    sql: str
    # Each parameter: ("value", v) kept as compiled, or ("slot", name) taken from the call.
    params: tuple[tuple[str, Any], ...]
    # For each column of the answer, its position in the statement's select list (None: the same order).
    order: tuple[int, ...] | None
    # Django's converters by select position (JSON text to objects, and so on), as the queryset would apply them.
    converters: dict[int, tuple[list[Callable[..., Any]], Any]]
    # Its key among a connection's prepared statements; what follows ``PREPARE <name>`` and ``EXECUTE <name>`` (a %s
    # per parameter).
    key: int
    prepare: str
    execute: str


def _numbered(sql: str) -> str:
    """Django's SQL (``%s`` a parameter, ``%%`` a percent sign) with PostgreSQL's ``$1``, ``$2``, …"""
    numbers = itertools.count(1)
    return re.sub(r"%[s%]", lambda match: "%" if match.group() == "%%" else f"${next(numbers)}", sql)


def _placeholder(kind: type, number: int) -> Any:
    if kind is int:
        return _INT_PLACEHOLDER - number
    if kind is str:
        return _STR_PLACEHOLDER.format(number)
    if kind is datetime:
        return _DATETIME_PLACEHOLDER + timedelta(seconds=number)
    raise TypeError(f"a placeholder is an int, a str or a datetime, not {kind.__name__}")


class CompiledQuery:
    """A ``values_list`` queryset compiled once, then run with new values for its named placeholders.

    ``build`` receives one placeholder per keyword of ``kinds`` (``user_id=int, slug=str, start=datetime``) and
    returns the queryset; :meth:`rows` runs it with real values and answers its rows as tuples, in the order of the
    ``values_list`` fields, converted as the queryset would convert them. One query, and no compiling after the first
    call. :meth:`statement` answers the SQL and its parameters instead, for a caller that runs it inside its own.
    """

    def __init__(self, build: Callable[..., QuerySet], **kinds: type) -> None:
        self._build = build
        self._kinds = kinds
        self._statement: _Statement | None = None

    def _compile(self) -> _Statement:
        placeholders = {name: _placeholder(kind, number) for number, (name, kind) in enumerate(self._kinds.items())}
        queryset = self._build(**placeholders)
        if queryset._iterable_class is not ValuesListIterable:
            raise TypeError("a CompiledQuery's queryset is a values_list() of named fields")
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, compiled_params = compiler.as_sql()
        slots = {value: name for name, value in placeholders.items()}
        params = []
        for value in compiled_params:
            name = slots.get(value) if type(value) in _KINDS else None
            params.append(("slot", name) if name is not None else ("value", value))
        for name, value in placeholders.items():
            # A placeholder may go unused (staff see every stream, so no account id), but never in disguise.
            if str(value) in sql or any(kind == "value" and str(value) in str(item) for kind, item in params):
                raise ValueError(f"placeholder {name!r} reaches the SQL other than as a parameter of its own")
        query = queryset.query
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        # A values_list() queryset names its columns in _fields (empty for all of them, in select order).
        order = tuple(names.index(field) for field in getattr(queryset, "_fields", ()) or names)
        # A value of the call is prepared with the type its kind names; one of the queryset's own is inferred from
        # where it stands, as its literal would be.
        types = ", ".join(_KINDS[self._kinds[item]] if kind == "slot" else "unknown" for kind, item in params)
        return _Statement(
            using=queryset.db,
            sql=sql,
            params=tuple(params),
            order=None if order == tuple(range(len(names))) else order,
            converters=compiler.get_converters([column for column, _, _ in compiler.select]),
            key=next(_KEYS),
            prepare=f"{f' ({types})' if params else ''} AS {_numbered(sql)}",
            execute=f"({', '.join(['%s'] * len(params))})" if params else "",
        )

    def _compiled(self) -> _Statement:
        statement = self._statement
        if statement is None:
            statement = self._statement = self._compile()
        return statement

    def statement(self, **values: Any) -> tuple[str, str, list[Any]]:
        """The database alias, the SQL and its parameters with these values; its columns are in select order."""
        statement = self._compiled()
        return (
            statement.using,
            statement.sql,
            [values[item] if kind == "slot" else item for kind, item in statement.params],
        )

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        statement = self._compiled()
        _, _, params = self.statement(**values)
        connection = connections[statement.using]
        with connection.cursor() as cursor:
            found = _run_prepared(connection, cursor, statement, params)
        if statement.converters:
            found = [list(row) for row in found]
            for row in found:
                for position, (functions, expression) in statement.converters.items():
                    for function in functions:
                        row[position] = function(row[position], expression, connection)
        order = statement.order
        if order is None:
            return [tuple(row) for row in found] if statement.converters else found
        return [tuple(row[position] for position in order) for row in found]


def _run_prepared(connection, cursor, statement: _Statement, params: list[Any]) -> list[Any]:
    """The statement's rows, run as prepared on this connection (prepared first if it is not yet)."""
    prepared = _PREPARED.setdefault(connection.connection, {})
    execute = prepared.get(statement.key)
    if execute is None:
        name = f"compiled_{uuid.uuid4().hex}"
        # Past Django's cursor, as Django sets up a connection's session: once per connection, not one of the
        # queries a request makes (query counts stay the same whichever request comes first).
        with connection.wrap_database_errors:
            cursor.cursor.execute(f"PREPARE {name}{statement.prepare}")
        execute = prepared[statement.key] = f"EXECUTE {name}{statement.execute}"
    try:
        cursor.execute(execute, params)
    except DatabaseError as exc:
        if getattr(exc.__cause__, "pgcode", None) not in _PREPARED_LOST:
            raise
        # The next call prepares it afresh, under a new name. Outside a transaction nothing is lost by the failed
        # EXECUTE: this call runs the plain statement.
        del prepared[statement.key]
        if connection.in_atomic_block:
            raise
        cursor.execute(statement.sql, params)
    return cursor.fetchall()


def instance_from_columns(model: type[M], using: str, values: Mapping[str, Any]) -> M:
    """A ``model`` instance loaded with some of its columns (by attname), the others deferred, as ``only()`` leaves
    one."""
    fields = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(using, fields, [values[field] for field in fields])
