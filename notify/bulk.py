"""Insert many rows in one SQL statement, whatever their number."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connections, models


def insert_rows(model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]],
                using: str = "default") -> list[int]:
    """Insert ``rows`` into ``model``'s table and return their new primary keys in order.

    SQLite and PostgreSQL get one ``INSERT ... SELECT`` from a JSON array
    parameter (Django's ``bulk_create`` needs one statement per 999 values on
    SQLite); other databases fall back to ``bulk_create``.
    """
    if not rows:
        return []
    connection = connections[using]
    fields = [model._meta.get_field(name) for name in field_names]
    missing = [f for f in model._meta.concrete_fields if f not in fields and not f.primary_key]
    if missing:
        defaults = tuple(f.get_default() for f in missing)
        fields += missing
        field_names = [f.name for f in fields]
        rows = [tuple(row) + defaults for row in rows]
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        objs = [model(**dict(zip(field_names, row, strict=False))) for row in rows]
        model._default_manager.using(using).bulk_create(objs)
        return [obj.pk for obj in objs]
    data = json.dumps(
        [[_prep(field, value, connection) for field, value in zip(fields, row, strict=False)] for row in rows],
        default=str,
    )
    qn = connection.ops.quote_name
    columns = ", ".join(qn(field.column) for field in fields)
    table = qn(model._meta.db_table)
    pk = qn(model._meta.pk.column)
    if vendor == "sqlite":
        values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(fields)))
        sql = (f"INSERT INTO {table} ({columns}) SELECT {values} FROM json_each(%s) "
               f"ORDER BY CAST(key AS INTEGER) RETURNING {pk}")
    else:
        values = ", ".join(_pg_value(field, i, connection) for i, field in enumerate(fields))
        sql = (f"INSERT INTO {table} ({columns}) SELECT {values} "
               f"FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS r(v, n) ORDER BY n RETURNING {pk}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [data])
        return sorted(row[0] for row in cursor.fetchall())


def _prep(field: models.Field, value: Any, connection: Any) -> Any:
    if isinstance(value, models.Model):
        value = value.pk
    value = field.get_db_prep_save(value, connection)
    if hasattr(value, "isoformat"):
        return value.isoformat(" ")
    return value


def _pg_value(field: models.Field, index: int, connection: Any) -> str:
    text = f"(v->>{index})"
    if isinstance(field, (models.CharField, models.TextField)):
        return text
    return f"CAST({text} AS {field.rel_db_type(connection) if field.is_relation else field.db_type(connection)})"
