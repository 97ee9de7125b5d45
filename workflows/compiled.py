"""Querysets compiled to SQL once per process, for the hot transition path (approve, issue 14).

Building and compiling a Django queryset with subqueries (ArraySubquery, guardian's permission
filter, select_related three levels deep) costs several milliseconds of Python per call: more
than the database spends running it. A `Compiled` query is the same ORM queryset, built once with
sentinel values in place of the ids that change from call to call, compiled once, and then run
with the real ids bound in the sentinels' places; its rows become model instances exactly as
Django's ModelIterable makes them (select_related objects and annotations included).

Only the SQL text is cached, never a row: every call reads the database afresh, under the
caller's transaction and locks, so a changed rule, lane, step, permission or text is seen by the
next call. The queryset stays the one definition (permissions.perm_q and friends); `Compiled`
asserts that no sentinel was inlined into the SQL text or turned into another value (see
tests/workflows/services/test_compiled_queries.py)."""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError
from django.utils import translation

M = TypeVar("M", bound=Model)

#: Ids no real row has (ids are positive): what a Compiled query is built with.
SENTINELS: tuple[int, ...] = (-7_340_001, -7_340_002, -7_340_003, -7_340_004)


class Compiled(Generic[M]):
    """`build(*ids)` returns a queryset; `run(*ids)` returns its model instances. One compiled
    form per key (`key` names what changes the SQL's shape, e.g. the permission codename;
    the database alias, the active language and the thread are added to it)."""

    def __init__(self, build: Callable[..., QuerySet[M]], *, arity: int) -> None:
        if not 0 < arity <= len(SENTINELS):
            raise ValueError("arity")
        self.build, self.arity = build, arity
        self._forms: dict[Hashable, _Form] = {}
        self._lock = threading.Lock()

    def form(self, key: Hashable = (), *, using: str = "default", **shape: Any) -> _Form:
        # Per thread: a compiled form keeps the compiler (its converters), which holds the
        # connection of the thread that compiled it.
        full = (key, using, translation.get_language(), threading.get_ident())
        found = self._forms.get(full)
        if found is None:
            found = _Form(self.build(*SENTINELS[: self.arity], **shape).using(using), self.arity)
            with self._lock:
                self._forms.setdefault(full, found)
        return found

    def run(self, *ids: int, key: Hashable = (), using: str = "default", **shape: Any) -> list[M]:
        """The queryset's instances, for these ids. `shape`: keyword arguments given to `build`
        that change the SQL (not its parameters); each distinct `key` must stand for one shape."""
        return self.form(key, using=using, **shape).run(ids)

    def clear(self) -> None:
        with self._lock:
            self._forms.clear()


class _Form:
    def __init__(self, qs: QuerySet[Any], arity: int) -> None:
        self.db = qs.db
        compiler = qs.query.get_compiler(using=qs.db)
        sql, params = compiler.as_sql()
        slots: list[int | None] = []
        for p in params:
            slots.append(SENTINELS.index(p) if isinstance(p, int) and p in SENTINELS[:arity] else None)
        # A sentinel must reach the parameters as itself (an argument the shape leaves unused,
        # e.g. the team's group without a team, is not there at all): never inlined into the SQL
        # text nor turned into another value, which would then be run with the sentinel's id.
        leaked = [str(SENTINELS[i]) for i in range(arity)
                  if str(SENTINELS[i]) in sql or any(s is None and str(SENTINELS[i]) in str(p)
                                                    for p, s in zip(params, slots, strict=True))]
        if leaked:
            raise ValueError(f"Compiled: sentinels {leaked} did not become parameters:\n{sql}")
        self.sql, self.params, self.slots, self.compiler = sql, tuple(params), slots, compiler
        klass_info = compiler.klass_info
        select = compiler.select
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start:self.end]]
        self.klass_info, self.select = klass_info, select
        self.annotation_col_map = dict(compiler.annotation_col_map or {})
        # What compiler.results_iter works out at each call, worked out once.
        self.converters = compiler.get_converters([s[0] for s in select[0:compiler.col_count]])
        if compiler.has_composite_fields([s[0] for s in select[0:compiler.col_count]]):
            raise ValueError("Compiled: composite primary keys are not supported")

    def run(self, ids: tuple[int, ...]) -> list[Any]:
        connection = connections[self.db]
        if self.compiler.query.select_for_update and connection.get_autocommit():
            # What Django's compiler says when a FOR UPDATE query runs outside a transaction.
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = [p if s is None else ids[s] for p, s in zip(self.params, self.slots, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if self.compiler.has_extra_select:
            rows = [r[: self.compiler.col_count] for r in rows]
        # Populators hold per-query state: made per call, as ModelIterable does.
        populators = get_related_populators(self.klass_info, self.select, self.db)  # type: ignore[call-arg]
        objs = []
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        for row in rows:
            obj = self.model.from_db(self.db, self.init_list, row[self.start:self.end])
            for populator in populators:
                populator.populate(row, obj)
            for name, pos in self.annotation_col_map.items():
                setattr(obj, name, row[pos])
            objs.append(obj)
        return objs


def set_prefetched(obj: Model, name: str, rows: list[Any]) -> None:
    """Leave `rows` on `obj` as prefetch_related(`name`) would: `obj.<name>.all()` answers them
    without a query."""
    qs = getattr(obj, name).all()
    qs._result_cache = rows
    qs._prefetch_done = True
    cache = obj.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[name] = qs


# --- writes ---------------------------------------------------------------------------------
# Model.save() and bulk_create() build and compile their INSERT / UPDATE at every call; the
# statements below are the same ones (every concrete column, the primary key returned), their
# SQL made once per model and shape. They send no model signals: use them only for models no
# receiver listens to (tests/workflows/services/test_compiled_queries.py checks the ones used).

_WRITES: dict[Hashable, str] = {}


def insert_rows(objs: list[M], *, using: str = "default") -> list[M]:
    """INSERT new instances of one model in one statement (`obj.save(force_insert=True)` for
    each, or bulk_create) and set their primary keys; fields' pre_save (auto_now_add) apply."""
    if not objs:
        return objs
    model = type(objs[0])
    meta = model._meta
    connection = connections[using]
    pk = meta.pk
    fields = [f for f in meta.local_concrete_fields if f is not pk]  # type: ignore[union-attr]
    key = ("insert", model, len(objs), using)
    sql = _WRITES.get(key)
    if sql is None:
        qn = connection.ops.quote_name
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        # Quoted names from the model; the values are parameters.
        columns = ", ".join(qn(str(f.column)) for f in fields)
        rows = ", ".join([row] * len(objs))
        sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {rows} RETURNING {qn(str(pk.column))}"  # type: ignore[union-attr]  # noqa: S608  # nosec B608
        _WRITES[key] = sql
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection=connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [r[0] for r in cursor.fetchall()]
    for obj, id_ in zip(objs, ids, strict=True):
        setattr(obj, pk.attname, id_)  # type: ignore[union-attr]
        obj._state.adding = False
        obj._state.db = using
    return objs


def update_row(obj: Model, *, fields: list[str], using: str = "default") -> None:
    """`obj.save(update_fields=fields)`: one UPDATE by primary key; raises DatabaseError when no
    row was updated, as save() does."""
    from django.db import DatabaseError

    model = type(obj)
    meta = model._meta
    connection = connections[using]
    names = tuple(sorted(fields))
    model_fields = [meta.get_field(n) for n in names]
    key = ("update", model, names, using)
    sql = _WRITES.get(key)
    if sql is None:
        qn = connection.ops.quote_name
        sets = ", ".join(f"{qn(str(f.column))} = %s" for f in model_fields)  # type: ignore[union-attr]
        # Quoted names from the model; the values are parameters.
        sql = f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {qn(str(meta.pk.column))} = %s"  # type: ignore[union-attr]  # noqa: S608  # nosec B608
        _WRITES[key] = sql
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection=connection)  # type: ignore[union-attr]
              for f in model_fields]
    params.append(obj.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")


def write_together(inserts: list[list[Any]], *, update: Model, fields: list[str], using: str = "default") -> None:
    """insert_rows for each list of new instances (one model per list; a list whose instances
    all have their primary key set inserts it, the others get theirs from the database), then
    update_row(`update`, `fields`): one statement (data-modifying CTEs, PostgreSQL), one round
    trip instead of one per write. The caller holds `update`'s row lock."""
    from django.db import DatabaseError

    connection = connections[using]
    groups = [objs for objs in inserts if objs]
    if connection.vendor != "postgresql":
        for objs in groups:
            insert_rows(objs, using=using)
        update_row(update, fields=fields, using=using)
        return
    qn = connection.ops.quote_name
    shapes = []
    for objs in groups:
        with_pk = all(o.pk is not None for o in objs)
        shapes.append((type(objs[0]), len(objs), with_pk))
    umeta = update._meta
    names = tuple(sorted(fields))
    ufields = [umeta.get_field(n) for n in names]
    key = ("together", tuple(shapes), type(update), names, using)
    sql = _WRITES.get(key)
    if sql is None:
        ctes, returned = [], []
        for i, (model, n, with_pk) in enumerate(shapes):
            meta = model._meta
            cols = [f for f in meta.local_concrete_fields if with_pk or f is not meta.pk]
            row = "(" + ", ".join(["%s"] * len(cols)) + ")"
            ret = "" if with_pk else f" RETURNING {qn(str(meta.pk.column))}"  # type: ignore[union-attr]
            columns = ", ".join(qn(str(f.column)) for f in cols)
            values = ", ".join([row] * n)
            ctes.append(f"w{i} AS (INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {values}{ret})")  # noqa: S608  # nosec B608
            if not with_pk:
                pk = qn(str(meta.pk.column))  # type: ignore[union-attr]
                returned.append(f"(SELECT array_agg({pk} ORDER BY {pk}) FROM w{i})")  # noqa: S608  # nosec B608
        sets = ", ".join(f"{qn(str(f.column))} = %s" for f in ufields)  # type: ignore[union-attr]
        returning = ", ".join(["1", *returned])
        # Quoted names from the models; the values are parameters.
        upk = qn(str(umeta.pk.column))  # type: ignore[union-attr]
        sql = f"WITH {', '.join(ctes)} UPDATE {qn(umeta.db_table)} SET {sets} WHERE {upk} = %s RETURNING {returning}"  # noqa: S608  # nosec B608
        _WRITES[key] = sql
    params: list[Any] = []
    for objs, (model, _, with_pk) in zip(groups, shapes, strict=True):
        cols = [f for f in model._meta.local_concrete_fields if with_pk or f is not model._meta.pk]
        params += [f.get_db_prep_save(f.pre_save(o, True), connection=connection) for o in objs for f in cols]
    params += [f.get_db_prep_save(f.pre_save(update, False), connection=connection)  # type: ignore[union-attr]
               for f in ufields]
    params.append(update.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if len(found) != 1:
        raise DatabaseError("Save with update_fields did not affect any rows.")
    ids = iter(found[0][1:])
    for objs, (_, _, with_pk) in zip(groups, shapes, strict=True):
        if not with_pk:
            for obj, id_ in zip(objs, next(ids), strict=True):
                obj.pk = id_
        for obj in objs:
            obj._state.adding = False
            obj._state.db = using
