import contextlib
import io
import logging
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.models import Organisation
from workflows.demo import DEFAULT_PASSWORD, ORGANISATIONS, USERS, seed_demo
from workflows.demo_scenario import seed_morning


class Command(BaseCommand):
    help = ("Create or update the demo organisations, channels, teams, users and lanes (idempotent), and "
            "a morning's work. --reset empties a demo database first for a fresh morning.")

    def add_arguments(self, parser):
        parser.add_argument("--no-morning", action="store_true",
                            help="Skip the morning's work (citizen messages, posts in every state).")
        parser.add_argument("--reset", action="store_true",
                            help="Empty the database first, then seed a fresh morning. Refused when DEBUG is "
                                 "off or when the database holds another organisation than the demo's, "
                                 "unless --force.")
        parser.add_argument("--force", action="store_true", help="Allow --reset outside DEBUG or on other data.")
        parser.add_argument("--logins", action="store_true",
                            help="Only print where Parley listens and the demo logins (make run's last lines).")
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="The address --logins prints.")

    def handle(self, *args, **options):
        if options["logins"]:
            self._banner(options["url"])
            return
        if options["reset"]:
            self._reset(force=options["force"])
        password = settings.DEMO_PASSWORD or None
        # The seed's notifications and task logs are not news to the person starting the demo (issue
        # 21): about 600 lines of console e-mails and task logs buried the logins. They are counted.
        mails = io.StringIO()
        logging.disable(logging.WARNING)
        try:
            with contextlib.redirect_stdout(mails):
                result = seed_demo(password=password)
                morning = not options["no_morning"] and seed_morning()
        finally:
            logging.disable(logging.NOTSET)
        if morning:
            self.stdout.write("A morning's work added: citizen messages (some overdue), posts in every state, "
                              "a failed publication (on purpose, on a closed alerts account).")
        sent = mails.getvalue().count("\nSubject: ") + mails.getvalue().startswith("Subject: ")
        if sent:
            self.stdout.write(f"{sent} notification e-mails written while seeding (not shown).")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        if result["created_users"] and not password:
            self.stdout.write(f"Demo users created with the default password '{DEFAULT_PASSWORD}'.")

    def _reset(self, *, force: bool) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("--reset empties the database: refused with DEBUG off (add --force if you mean it).")
        demo = {o["slug"] for o in ORGANISATIONS}
        others = sorted(set(Organisation.objects.values_list("slug", flat=True)) - demo)
        if others and not force:
            raise CommandError(f"--reset empties the database, which holds other organisations too "
                               f"({', '.join(others)}): refused (add --force if you mean it).")
        if connection.vendor == "sqlite":
            # The audit trail is append-only (triggers refuse DELETE): a fresh file, migrated.
            path = Path(settings.DATABASES["default"]["NAME"])
            connection.close()
            path.unlink(missing_ok=True)
            call_command("migrate", interactive=False, verbosity=0)
        else:
            call_command("flush", interactive=False, verbosity=0)  # TRUNCATE: the whole demo database
        self.stdout.write("Database emptied for a fresh morning.")

    def _banner(self, url: str) -> None:
        password = "DEMO_PASSWORD" if settings.DEMO_PASSWORD else f"'{DEFAULT_PASSWORD}' unless changed"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Parley is ready: {url}"))
        self.stdout.write(f"  API docs: {url}api/docs/   admin: {url}admin/")
        self.stdout.write(f"  Sign in as (password: {password}):")
        for u in USERS:
            self.stdout.write(f"    {u['username']:<6} {u['role']}")
        self.stdout.write("    admin  superuser, for /admin/")
        self.stdout.write("  A fresh morning: python manage.py seed_demo --reset")
