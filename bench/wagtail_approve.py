"""Wagtail's workflow approve, the reference for Parley's approve (run by bench/run.py).

Runs in its own virtualenv (var/bench-wagtail, built by `make bench`; never Parley's .venv), on
the same PostgreSQL server, in a database of its own (created and dropped here). A three-task
workflow (GroupApprovalTask per step, like Parley's review → translation → sign-off); each
approval is what Wagtail's admin does for the "approve" action: the permission check
(task.get_actions for the user) and task.on_action(..., "approve"), in one transaction.
Prints one JSON line: statements of the first and last step (BEGIN/COMMIT included), medians.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time

import django
import psycopg
from django.conf import settings

DB = os.environ.get("WAGTAIL_BENCH_DB", "bench_wagtail")
N = int(os.environ.get("BENCH_APPROVES", "40"))


def admin_connect():
    return psycopg.connect(dbname="postgres", autocommit=True)


def main() -> None:
    with admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}"')
        conn.execute(f'CREATE DATABASE "{DB}"')
    try:
        run()
    finally:
        from django.db import connections

        connections.close_all()
        with admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}"')


def run() -> None:
    settings.configure(
        DEBUG=False, SECRET_KEY="bench-only", ALLOWED_HOSTS=["*"], USE_TZ=True, ROOT_URLCONF=__name__,
        DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": DB,
                               "HOST": os.environ.get("PGHOST", "127.0.0.1"), "PORT": os.environ.get("PGPORT", "5432"),
                               "USER": os.environ.get("PGUSER", "postgres"), "PASSWORD": os.environ.get("PGPASSWORD", "")}},
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                        "django.contrib.messages", "django.contrib.staticfiles", "taggit", "modelcluster",
                        "wagtail.users", "wagtail.images", "wagtail.documents", "wagtail.admin", "wagtail"],
        MIDDLEWARE=[], TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
                                   "OPTIONS": {"context_processors": []}}],
        STATIC_URL="/static/", WAGTAIL_SITE_NAME="bench", WAGTAILADMIN_BASE_URL="http://localhost",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField", PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    django.setup()
    from django.contrib.auth.models import Group, Permission, User
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from wagtail.models import (
        GroupApprovalTask,
        GroupPagePermission,
        Page,
        Workflow,
        WorkflowPage,
        WorkflowTask,
    )

    call_command("migrate", verbosity=0)
    home = Page.objects.filter(depth=2).first()
    author = User.objects.create_user("author", password="x")
    editors = Group.objects.get(name="Editors")
    author.groups.add(editors)
    workflow = Workflow.objects.create(name="bench")
    approvers = []
    for i, name in enumerate(("review", "translation", "sign_off")):
        group = Group.objects.create(name=f"bench-{name}")
        for codename in ("change_page", "publish_page"):  # approvers may edit and publish, as in the admin
            GroupPagePermission.objects.create(
                group=group, page=home,
                permission=Permission.objects.get(content_type__app_label="wagtailcore", codename=codename))
        task = GroupApprovalTask.objects.create(name=name)
        task.groups.set([group])
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=i)
        user = User.objects.create_user(f"approver-{name}", password="x")
        user.groups.add(group)
        approvers.append(user)
    WorkflowPage.objects.create(workflow=workflow, page=home)

    def approve(page, user) -> tuple[float, int]:
        page = Page.objects.get(id=page.id)
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            with transaction.atomic():
                state = page.current_workflow_state
                task_state = state.current_task_state
                task = task_state.task.specific
                actions = [a[0] for a in task.get_actions(page, user)]
                assert "approve" in actions, actions
                task.on_action(task_state, user, "approve")
            elapsed = (time.perf_counter() - started) * 1000
        return elapsed, len(ctx.captured_queries)

    first_ms, last_ms, first_n, last_n = [], [], 0, 0
    for i in range(N):
        page = home.add_child(instance=Page(title=f"Bench page {i}", slug=f"bench-{i}", live=False))
        page.save_revision(user=author)
        workflow.start(page, author)
        ms, n = approve(page, approvers[0])
        first_ms.append(ms)
        first_n = n
        approve(page, approvers[1])
        ms, n = approve(page, approvers[2])
        last_ms.append(ms)
        last_n = n
    import wagtail

    print(json.dumps({"statements": first_n, "statements_last": last_n, "median_ms": statistics.median(first_ms),
                      "median_last_ms": statistics.median(last_ms), "wagtail": wagtail.__version__,
                      "django": django.get_version()}))


urlpatterns: list = []

if __name__ == "__main__":
    sys.exit(main())
