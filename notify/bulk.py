"""Insert many rows in one SQL statement, whatever their number."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connections, models

_PLAIN = (str, int, float, type(None))


def insert_rows(model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]],
                common: Mapping[str, Any] | None = None, using: str = "default") -> list[int]:
    """Insert ``rows`` (plus the ``common`` values shared by all) and return the new primary keys in order.

    SQLite and PostgreSQL get one ``INSERT ... SELECT`` from a JSON array
    parameter (Django's ``bulk_create`` needs one statement per 999 values on
    SQLite); other databases fall back to ``bulk_create`` where it returns
    the new ids (MariaDB), else to one INSERT per row (MySQL). Concrete fields
    given neither per row nor in ``common`` get their default.
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
        objs = [model(**common, **dict(zip(field_names, row))) for row in rows]
        manager = model._default_manager.using(using)
        if connection.features.can_return_rows_from_bulk_insert:
            manager.bulk_create(objs)
        else:  # MySQL gives no ids back from a multi-row INSERT: one INSERT each
            for obj in objs:
                obj.save(using=using, force_insert=True)
        return [obj.pk for obj in objs]
    row_fields = [meta.get_field(name) for name in field_names]
    common_fields = [meta.get_field(name) for name in common]
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
    return field.rel_db_type(connection) if field.is_relation else field.db_type(connection)


def _pg_value(field: models.Field, index: int, connection: Any) -> str:
    text = f"(v->>{index})"
    if isinstance(field, (models.CharField, models.TextField)):
        return text
    return f"CAST({text} AS {_cast(field, connection)})"
