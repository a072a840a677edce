"""INSERTs of new objects and their history rows for the import, at about the cost of the SQL itself.

Django's `bulk_create` sends every value through the query compiler (a placeholder, an expression check and a
`pre_save` per value), and simple_history's `bulk_history_create` builds one model instance per history row:
together most of a first import's time. Here each model's columns are worked out once; values still go through
each field's own `pre_save` and `get_db_prep_save` (so encryption, JSON and date adaptation are Django's), one
multi-row INSERT ... RETURNING per ROWS_PER_STATEMENT objects gives the primary keys, and each object's history
row (type "+", as `bulk_create_with_history` writes it) reuses the values already converted for the object: a
name is encrypted once, not twice (the history row holds the same Fernet token as the row it records). Changed
rows are written the same way (`update_with_history`: one UPDATE ... FROM (VALUES ...) per statement's rows).

Like `bulk_create`, no model signal is sent and `save()` is not called; the import's writer does what those
would (`PhoneNumber.last_four`, the worklists' re-evaluation).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
)

HISTORY_CREATED = "+"
HISTORY_CHANGED = "~"
HISTORY_COLUMNS = ("history_date", "history_change_reason", "history_type", "history_user_id")
_PLAIN_FIELDS = (CharField, TextField, BooleanField, ForeignKey, BigIntegerField, IntegerField)
_PLAIN_VALUES = (str, bool, int, type(None))
# Rows per INSERT or UPDATE statement. Bounded, so that a file's statements come in few shapes: SQLite keeps the
# last 128 prepared statements, and one per batch of several thousand parameters made the peak memory grow with
# the file (128 MiB at 100,000 rows against 100 MiB with this bound, for the same CPU time within noise).
ROWS_PER_STATEMENT = 250
_MAX_PARAMS = 32_000  # per statement: below PostgreSQL's 65,535 and SQLite's default 32,766 (since 3.32)


class _Columns:
    """One model's INSERT and its history table's, worked out once."""

    def __init__(self, model: type[Model], using: str) -> None:
        connection = connections[using]
        quote = connection.ops.quote_name
        meta = model._meta
        self.pk = meta.pk
        self.fields = [f for f in meta.concrete_fields if f is not meta.pk]
        self.auto_now = {
            f.attname for f in self.fields
            if isinstance(f, DateField) and (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))
        }
        # Columns whose pre_save and get_db_prep_save give a str, bool, int or None back as it is (exactly these
        # field classes: a subclass, such as an encrypted field, may convert): ~45 values a row skip two calls.
        self.plain = {f.attname for f in self.fields if type(f) in _PLAIN_FIELDS}
        # Foreign keys set through an unsaved parent (consent.phone = phone): its key is known only once the parent
        # is inserted, so it is read at insert time, as bulk_create's _prepare_related_fields_for_save does.
        self.foreign_keys = [f for f in self.fields if isinstance(f, ForeignKey)]
        columns = ", ".join(quote(f.column) for f in self.fields)
        self.insert = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608
        self.returning = f" RETURNING {quote(self.pk.column)}"
        self.row_marks = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        history = model.history.model  # type: ignore[attr-defined]
        tracked = {f.attname for f in self.fields} | {self.pk.attname}
        other = {f.attname for f in history._meta.concrete_fields} - tracked - {"history_id", *HISTORY_COLUMNS}
        if other:
            # A history column this module would not fill (simple_history's extra fields): refuse, not guess.
            raise ImproperlyConfigured(f"{history.__name__} has columns the import cannot fill: {sorted(other)}")
        self.history_attnames = [f.attname for f in history._meta.concrete_fields
                                 if f.attname in tracked and f.attname != "history_id"]
        column_of = {f.attname: f.column for f in history._meta.concrete_fields}
        history_columns = [quote(column_of[a]) for a in (*self.history_attnames, *HISTORY_COLUMNS)]
        self.history_insert = (
            f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(history_columns)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(history_columns))})"
        )
        limit = _MAX_PARAMS
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            limit = min(limit, connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        self.rows_per_statement = max(1, min(ROWS_PER_STATEMENT, limit // (len(self.fields) + 1)))


_COLUMNS: dict[tuple[type[Model], str], _Columns] = {}


def _columns(model: type[Model], using: str) -> _Columns:
    key = (model, using)
    if key not in _COLUMNS:
        _COLUMNS[key] = _Columns(model, using)
    return _COLUMNS[key]


class _Template:
    """One model's concrete fields with their defaults, for building unsaved instances positionally."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.position = {f.attname: i for i, f in enumerate(self.fields)}
        self.defaults = [None if f.primary_key else f.get_default() for f in self.fields]
        self.fresh = [i for i, f in enumerate(self.fields) if f.has_default() and callable(f.default)]  # e.g. list


_TEMPLATES: dict[type[Model], _Template] = {}


def new_object(model: type[Model], parents: dict[str, Model] | None = None, **values: Any) -> Any:
    """An unsaved `model(**values)`, every other field at its default, built with positional arguments: Django's
    keyword path costs twice as much, and a first import builds four or five objects a row. `values` are by
    attname (`assigned_collector_id`); `parents` are related objects by field name (`borrower`), set through
    their descriptors, so an unsaved parent's key is read when the child is inserted."""
    template = _TEMPLATES.get(model)
    if template is None:
        template = _TEMPLATES[model] = _Template(model)
    args = list(template.defaults)
    for i in template.fresh:
        args[i] = template.fields[i].get_default()
    position = template.position
    for name, value in values.items():
        args[position[name]] = value
    obj = model(*args)
    for name, parent in (parents or {}).items():
        setattr(obj, name, parent)
    return obj


def insert_with_history(
    objs: Sequence[Model], model: type[Model], *, now: datetime, history_user_id: int | None, reason: str,
    using: str = "default",
) -> None:
    """INSERT `objs` (new objects of `model`, primary keys unset) and one history row each, in the caller's
    transaction. Sets each object's primary key (and its auto_now / auto_now_add fields to `now`), as
    bulk_create does. Parents first: a child's foreign key to an object of an earlier call is read here."""
    if not objs:
        return
    connection = connections[using]
    cols = _columns(model, using)
    # The auto_now / auto_now_add columns all take `now`: converted once, not once per object.
    stamps = {f.attname: f.get_db_prep_save(now, connection) for f in cols.fields if f.attname in cols.auto_now}
    prepared: list[list[Any]] = []
    for obj in objs:
        for fk in cols.foreign_keys:
            if getattr(obj, fk.attname) is None and fk.is_cached(obj):
                parent = fk.get_cached_value(obj)
                if parent is not None:
                    setattr(obj, fk.name, parent)  # the key and the cached parent (setting the key alone drops it)
        row = []
        for field in cols.fields:
            attname = field.attname
            if attname in stamps:
                setattr(obj, attname, now)
                row.append(stamps[attname])
            elif attname in cols.plain and type(value := getattr(obj, attname)) in _PLAIN_VALUES:
                row.append(value)
            else:
                row.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
        prepared.append(row)
    extra = [connection.ops.adapt_datetimefield_value(now), reason, HISTORY_CREATED, history_user_id]
    index = {f.attname: i for i, f in enumerate(cols.fields)}
    positions = [index.get(a) for a in cols.history_attnames]  # None: the primary key
    history_rows = []
    with connection.cursor() as cursor:
        step = cols.rows_per_statement
        for start in range(0, len(objs), step):
            chunk = prepared[start:start + step]
            sql = cols.insert + ", ".join([cols.row_marks] * len(chunk)) + cols.returning
            cursor.execute(sql, [value for row in chunk for value in row])
            keys = [r[0] for r in cursor.fetchall()]
            if len(keys) != len(chunk):
                raise DatabaseError("the INSERT did not return a key per row")
            for obj, row, pk in zip(objs[start:start + step], chunk, keys, strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = using
                history_rows.append([pk if p is None else row[p] for p in positions] + extra)
        cursor.executemany(cols.history_insert, history_rows)


def update_with_history(
    objs: Sequence[Model], model: type[Model], fields: Sequence[str], *, now: datetime, history_user_id: int | None,
    reason: str, using: str = "default",
) -> None:
    """UPDATE `fields` of `objs` (saved objects with the new values set, every column loaded) in the caller's
    transaction, and write one history row each (type "~", every tracked column, as simple_history's
    `bulk_update_with_history` writes it). One `UPDATE ... FROM (VALUES ...)` per chunk: Django's `bulk_update`
    builds a CASE with a WHEN per object and field, whose compilation costs more per loan than the whole floor."""
    if not objs:
        return
    connection = connections[using]
    cols = _columns(model, using)
    meta = model._meta
    by_name = {f.name: f for f in cols.fields}
    targets = [by_name[name] for name in fields]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)

    def cast(field: Any, column: int) -> str:
        # PostgreSQL types a VALUES list from its parameters; cast each to its column's type.
        if connection.vendor == "postgresql":
            return f"CAST(v.column{column} AS {field.cast_db_type(connection)})"
        return f"v.column{column}"

    assignments = ", ".join(f"{quote(f.column)} = {cast(f, n)}" for n, f in enumerate(targets, start=2))
    row_marks = "(" + ", ".join(["%s"] * (len(targets) + 1)) + ")"
    step = cols.rows_per_statement
    index = {f.attname: i for i, f in enumerate(cols.fields)}
    positions = [index.get(a) for a in cols.history_attnames]
    extra = [connection.ops.adapt_datetimefield_value(now), reason, HISTORY_CHANGED, history_user_id]
    history_rows = []
    with connection.cursor() as cursor:
        starts = range(0, len(objs), step)
        if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < (3, 33):
            model._default_manager.bulk_update(objs, fields)  # UPDATE ... FROM came with SQLite 3.33
            starts = range(0)
        for start in starts:
            chunk = objs[start:start + step]
            params = []
            for obj in chunk:
                params.append(obj.pk)
                params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in targets)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row_marks] * len(chunk))}) AS v "  # noqa: S608
                f"WHERE {table}.{quote(cols.pk.column)} = {cast(cols.pk, 1)}",
                params,
            )
            if cursor.rowcount != len(chunk):
                raise DatabaseError(f"updated {cursor.rowcount} of {len(chunk)} rows")
        for obj in objs:
            row = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in cols.fields]
            history_rows.append([obj.pk if p is None else row[p] for p in positions] + extra)
        cursor.executemany(cols.history_insert, history_rows)
