"""Insert many rows in one SQL statement, whatever their number."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import NotSupportedError, connections, models

_PLAIN = (str, int, float, type(None))


def insert_rows(model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]],
                common: Mapping[str, Any] | None = None, using: str = "default") -> list[int]:
    """Insert ``rows`` (plus the ``common`` values shared by all) and return the new primary keys in order.

    SQLite and PostgreSQL get one ``INSERT ... SELECT`` from a JSON array
    parameter (Django's ``bulk_create`` needs one statement per 999 values on
    SQLite); MariaDB gets ``bulk_create``, which returns the new ids there.
    A database that returns no ids from a bulk insert (MySQL) raises
    ``NotSupportedError``. Concrete fields given neither per row nor in
    ``common`` get their default.
    """
    if not rows:
        return []
    connection = connections[using]
    meta = model._meta
    common = dict(common or {})
    for field in meta.concrete_fields:
        if not field.primary_key and field.name not in common and field.name not in field_names:
            common[field.name] = field.get_default()
    if connection.vendor not in ("sqlite", "postgresql"):
        return _bulk_create(model, field_names, rows, common, using)
    row_fields = [_field(model, name) for name in field_names]
    common_fields = [_field(model, name) for name in common]
    cheap = [not isinstance(f, (models.DateField, models.TimeField)) for f in row_fields]
    data = json.dumps([
        [v if plain and isinstance(v, _PLAIN) else _prep(f, v, connection)
         for f, v, plain in zip(row_fields, row, cheap)]
        for row in rows
    ])
    params = [_prep(f, v, connection) for f, v in zip(common_fields, common.values())] + [data]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in common_fields + row_fields)
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    constants = [f"CAST(%s AS {_cast(f, connection)})" if connection.vendor == "postgresql" else "%s"
                 for f in common_fields]
    if connection.vendor == "sqlite":
        values = [f"json_extract(value, '$[{i}]')" for i in range(len(row_fields))]
        source = "json_each(%s) ORDER BY CAST(key AS INTEGER)"
    else:
        values = [_pg_value(f, i, connection) for i, f in enumerate(row_fields)]
        source = "jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS r(v, n) ORDER BY n"
    sql = f"INSERT INTO {table} ({columns}) SELECT {', '.join(constants + values)} FROM {source} RETURNING {pk}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def _field(model: type[models.Model], name: str) -> models.Field:
    """Return the concrete field ``name`` of ``model`` (rows and ``common`` name concrete fields only)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a concrete field")
    return field


def _bulk_create(model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]],
                 common: dict[str, Any], using: str) -> list[int]:
    """Insert through ``bulk_create`` on databases that return the new ids from it (MariaDB 10.5+)."""
    connection = connections[using]
    if not connection.features.can_return_rows_from_bulk_insert:
        raise NotSupportedError(f"Emitting needs a database that returns the ids of a bulk insert (PostgreSQL, "
                                f"SQLite, MariaDB 10.5+); {connection.display_name} does not.")
    shared = {_field(model, name).attname: getattr(value, "pk", value) for name, value in common.items()}
    names = [_field(model, name).attname for name in field_names]
    objs = [model(**shared, **dict(zip(names, row))) for row in rows]
    model._default_manager.using(using).bulk_create(objs)
    return [int(obj.pk) for obj in objs]


def _prep(field: models.Field, value: Any, connection: Any) -> Any:
    if isinstance(value, models.Model):
        value = value.pk
    value = field.get_db_prep_save(value, connection)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat(" ") if isinstance(value, datetime.datetime) else value.isoformat()
    return value


def _cast(field: models.Field, connection: Any) -> str:
    if isinstance(field, (models.CharField, models.TextField)):
        return "text"
    return str(field.db_type(connection))  # a foreign key's is its target's (ForeignKey.db_type)


def _pg_value(field: models.Field, index: int, connection: Any) -> str:
    text = f"(v->>{index})"
    if isinstance(field, (models.CharField, models.TextField)):
        return text
    return f"CAST({text} AS {_cast(field, connection)})"
