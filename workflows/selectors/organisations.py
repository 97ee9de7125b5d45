"""The organisation tree: ancestors and descendants, walked in SQL."""
from __future__ import annotations

from django.db.models import Q
from django.db.models.expressions import RawSQL

from accounts.models import Organisation

#: Deepest organisation tree walked (a guard against a parent cycle entered in the admin).
ORG_MAX_DEPTH = 20


def organisation_lineage(organisation_id: int) -> list[int]:
    """The organisation and its ancestors (parents define periods their children inherit)."""
    ids: list[int] = []
    current: int | None = organisation_id
    while current is not None and current not in ids and len(ids) < ORG_MAX_DEPTH:
        ids.append(current)
        current = Organisation.objects.filter(id=current).values_list("parent_id", flat=True).first()
    return ids


#: Levels of parents a period is inherited through when read in one query.
ORG_INHERIT_DEPTH = 6


#: The organisation and its ancestors, up to ORG_INHERIT_DEPTH of them: a recursive walk up the
#: parent links inside the one statement that uses it.
_LINEAGE_SQL = (
    "WITH RECURSIVE parley_lineage(id, parent_id, depth) AS ("
    " SELECT id, parent_id, 1 FROM {table} WHERE id = %s"
    " UNION ALL SELECT o.id, o.parent_id, l.depth + 1 FROM {table} AS o"
    " JOIN parley_lineage AS l ON o.id = l.parent_id WHERE l.depth < %s"
    ") SELECT id FROM parley_lineage"
)


def inherited_from_q(organisation_id: int, *, field: str = "organisation") -> Q:
    """A filter for rows belonging to the organisation or one of its ancestors (up to
    ORG_INHERIT_DEPTH levels), in the same query: `field_id IN (a recursive walk up the parents)`
    (issue 14: it was a join per level with a DISTINCT, several ms to build and plan, on every
    reply's submit and every page's caretaker banner)."""
    sql = _LINEAGE_SQL.format(table=Organisation._meta.db_table)
    # The SQL is a constant (the table name from the model); the id and the depth are bound parameters.
    return Q(**{f"{field}_id__in": RawSQL(sql, (organisation_id, ORG_INHERIT_DEPTH))})  # noqa: S611  # nosec B611


def organisation_descendants(organisation_id: int) -> list[int]:
    """The organisation and every organisation under it."""
    ids = [organisation_id]
    frontier = [organisation_id]
    for _depth in range(ORG_MAX_DEPTH):
        frontier = list(Organisation.objects.filter(parent_id__in=frontier).exclude(id__in=ids).values_list("id", flat=True))
        if not frontier:
            break
        ids.extend(frontier)
    return ids
