"""The migrations folder reads as a history (issue 23, STYLE.md "One code path per rule, one
history per app"): one number per step, each step's parent the step before it, no merge
migrations, and no migration that imports the project's live code beyond the model-field callables Django itself
references (a migration must keep working when that code changes; triggers and data steps carry
their SQL frozen)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "workflows")
PROJECT_PACKAGES = {"accounts", "workflows", "config"}


@pytest.mark.parametrize("app", APPS)
def test_each_app_has_one_linear_numbered_history(app):
    loader = MigrationLoader(None, ignore_no_migrations=True)
    names = sorted(name for (a, name) in loader.disk_migrations if a == app)
    assert names, app
    numbers = [int(re.match(r"(\d{4})_", n).group(1)) for n in names]
    assert numbers == list(range(1, len(names) + 1)), f"{app}: numbers must run 0001, 0002, ... once each: {names}"
    for previous, name in zip([None, *names], names, strict=False):
        migration = loader.disk_migrations[(app, name)]
        parents = [dep for dep in migration.dependencies if dep[0] == app]
        expected = [] if previous is None else [(app, previous)]
        assert parents == expected, f"{app}.{name} depends on {parents}, not on the step before it ({expected})"


@pytest.mark.parametrize("path", sorted(p for app in APPS for p in (ROOT / app / "migrations").glob("[0-9]*.py")),
                         ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_no_migration_imports_live_project_code(path):
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    # A model field's default or validator is referenced where Django's makemigrations writes it
    # (`workflows.models.channel.default_languages`); anything else (services, settings) is live code.
    live = sorted(m for m in imported if m.split(".")[0] in PROJECT_PACKAGES and ".models" not in m)
    assert not live, f"{path.name} imports live code: {live}"
