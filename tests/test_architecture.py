"""The arrows of docs/architecture.md, on the real import graph (grimp, which import-linter
uses; `make lint` runs the same rules as contracts). Function-level imports count: a lazy
import is still an arrow.

No database needed: these tests read source files only."""
from __future__ import annotations

from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Arrows tolerated for now, each with the reason it is not gone yet. Keep this list short:
#: every entry is a circle the contracts would otherwise refuse.
ALLOWED_CYCLE_EDGES: set[tuple[str, str]] = set()

EDGES = ("workflows.tasks", "workflows.api", "workflows.web", "workflows.management", "workflows.admin")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("workflows", "accounts", "config", cache_dir=None)


def _edges(graph: grimp.ImportGraph, prefix: str = "workflows") -> dict[str, set[str]]:
    mods = {m for m in graph.modules if m == prefix or m.startswith(prefix + ".")}
    return {
        m: {x for x in graph.find_modules_directly_imported_by(m)
            if x in mods and (m, x) not in ALLOWED_CYCLE_EDGES}
        for m in mods
    }


def strongly_connected(adj: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that import each other in a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(adj):
        if root in index:
            continue
        work = [(root, iter(sorted(adj[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(adj.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        out.append(sorted(group))
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_workflows(graph):
    cycles = strongly_connected(_edges(graph))
    assert cycles == [], f"modules importing each other in a circle: {cycles}"


def _arrows(graph: grimp.ImportGraph, sources: tuple[str, ...], targets: tuple[str, ...]) -> list[str]:
    found = []
    for importer in sorted(graph.modules):
        if not importer.startswith(sources):
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported in targets or imported.startswith(tuple(t + "." for t in targets)):
                lines = graph.get_import_details(importer=importer, imported=imported)
                found.append(f"{importer} -> {imported} (line {lines[0]['line_number'] if lines else '?'})")
    return found


def test_services_import_no_task_api_or_web(graph):
    assert _arrows(graph, ("workflows.services", "accounts.services"), EDGES) == []


def test_selectors_import_no_service(graph):
    assert _arrows(graph, ("workflows.selectors",), ("workflows.services",)) == []


def test_channels_import_no_service_model_or_edge(graph):
    assert _arrows(graph, ("workflows.channels",),
                   ("workflows.services", "workflows.models", "workflows.selectors") + EDGES) == []


def test_models_and_guidelines_import_nothing_above_them(graph):
    above = ("workflows.services", "workflows.selectors") + EDGES
    assert _arrows(graph, ("workflows.models", "workflows.guidelines"), above) == []


def test_the_import_contracts_hold():
    """`lint-imports` (the contracts in pyproject.toml) passes on this tree."""
    import subprocess
    import sys

    run = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


#: The text caps of workflows/limits.py, which no other module may write as a number.
_LIMIT_NUMBERS = {16, 2_000, 5_000, 20_000}


def test_text_caps_are_written_only_in_limits():
    """Serializers, forms, views and services read their caps from workflows.limits: a
    `max_length=` / `min_length=` / `limit=` given one of its numbers as a literal is a second
    definition of the rule."""
    import ast

    found = []
    for folder in ("api", "web", "services"):
        for path in sorted((ROOT / "workflows" / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.keyword) and node.arg in ("max_length", "min_length", "limit") \
                        and isinstance(node.value, ast.Constant) and node.value.value in _LIMIT_NUMBERS:
                    found.append(f"{path.relative_to(ROOT)}:{node.value.lineno} {node.arg}={node.value.value}")
    assert found == []


def test_the_core_reaches_the_tasks_through_functions_registered_at_start():
    """WorkflowsConfig.ready() hands the relay and the engagement service their enqueue, and the
    outbox its in-process relay: the services never import tasks.py."""
    from workflows import tasks
    from workflows.services import engagement, outbox, relay

    assert relay._enqueue_fn is tasks.enqueue_event
    assert engagement._enqueue_fn is tasks.enqueue_engagement
    assert outbox._relay_in_process_fn is relay.relay_outbox


# --- plain framework: no private Django / DRF API (issue 23) ---------------------------------
#
# The rule, checked on every module of workflows/ and accounts/ (migrations included):
# * no imported module path or imported name from django or rest_framework has a segment that
#   starts with "_" (`from django.utils.translation import trans_real` is refused below too);
# * no import from a module Django does not document for applications (the ORM's SQL layer and
#   query internals: DENIED_MODULES), nor of a name of the row-to-model machinery (DENIED_NAMES);
# * no use of an attribute of those internals (DENIED_ATTRIBUTES): the SQL compiler, Model.from_db,
#   a queryset's or an instance's private caches.

FRAMEWORKS = ("django", "rest_framework")
DENIED_MODULES = (
    "django.db.models.sql",
    "django.db.models.query_utils",
    "django.db.backends.base.operations",
    "django.db.backends.utils",
    "django.utils.translation.trans_real",
    "rest_framework.fields._",
)
DENIED_NAMES = {"get_related_populators", "RelatedPopulator", "ModelIterable", "ValuesIterable",
                "RawModelIterable", "SQLCompiler", "trans_real", "get_attribute"}
DENIED_ATTRIBUTES = {"from_db", "get_compiler", "klass_info", "apply_converters", "get_converters",
                     "_result_cache", "_prefetch_done", "_prefetched_objects_cache", "_known_related_objects",
                     "_readable_fields", "_writable_fields", "_declared_fields"}


def _sources():
    for app in ("workflows", "accounts"):
        yield from sorted((ROOT / app).rglob("*.py"))


def _private_use(path: Path) -> list[str]:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
            names = [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
            names = []
        elif isinstance(node, ast.Attribute) and node.attr in DENIED_ATTRIBUTES:
            found.append(f"{where}: .{node.attr}")
            continue
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in {"getattr", "hasattr", "setattr"} and len(node.args) > 1
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in DENIED_ATTRIBUTES):
            found.append(f"{where}: {node.func.id}(…, {node.args[1].value!r})")  # the same, spelled as a string
            continue
        else:
            continue
        for module in modules:
            if module.split(".")[0] not in FRAMEWORKS:
                continue
            if any(part.startswith("_") for part in module.split(".")):
                found.append(f"{where}: import of private module {module}")
            if any(module == d or module.startswith(d + ".") or (d.endswith("_") and module.startswith(d))
                   for d in DENIED_MODULES):
                found.append(f"{where}: import from undocumented module {module}")
            for name in names:
                if name.startswith("_") or name in DENIED_NAMES:
                    found.append(f"{where}: import of private name {module}.{name}")
    return found


def test_no_private_framework_api():
    """Django and DRF through their documented APIs only (docs/architecture.md, STYLE.md)."""
    found = [f for path in _sources() for f in _private_use(path)]
    assert not found, "\n".join(found)


def test_the_private_api_rule_can_fail(tmp_path):
    """The checker finds each kind of use it refuses."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from django.db.models.query import get_related_populators\n"
        "from django.db.models.sql.compiler import SQLCompiler\n"
        "from rest_framework.fields import _UnvalidatedField\n"
        "from django.utils.translation import trans_real\n"
        "import django.db.models.sql\n"
        "x = Model.from_db('default', [], [])\n"
        "qs.query.get_compiler(using='default')\n"
        "qs._result_cache = []\n"
        "from django.utils._os import safe_join\n"
        "cache = getattr(post, '_prefetched_objects_cache', None)\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = _private_use(bad)
    finally:
        ROOT = saved
    assert len(found) == 11, found
    assert any("private module django.utils._os" in f for f in found), found


#: Where a model instance's `__dict__` must never carry state between calls (issue 23): a value
#: one step of a transition computes for another travels in engine.TransitionContext or a
#: return value. (Thread-local caches in channels/ and outbound.py are not model instances.)
NO_INSTANCE_DICT = ("workflows/services", "workflows/selectors", "workflows/permissions.py",
                    "workflows/api", "workflows/web", "workflows/models", "accounts")


def test_no_state_in_a_model_instances_dict():
    import ast

    found = []
    for rel in NO_INSTANCE_DICT:
        base = ROOT / rel
        for path in ([base] if base.suffix == ".py" else sorted(base.rglob("*.py"))):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr == "__dict__":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "state passed through __dict__:\n" + "\n".join(found)
