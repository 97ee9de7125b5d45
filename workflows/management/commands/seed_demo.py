from django.conf import settings
from django.core.management.base import BaseCommand

from workflows.demo import DEFAULT_PASSWORD, USERS, seed_demo
from workflows.demo_scenario import seed_morning


class Command(BaseCommand):
    help = "Create or update the demo organisations, channels, teams, users and lanes (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--no-morning", action="store_true",
                            help="Skip the morning's work (citizen messages, posts in every state).")

    def handle(self, *args, **options):
        password = settings.DEMO_PASSWORD or None
        result = seed_demo(password=password)
        if not options["no_morning"] and seed_morning():
            self.stdout.write("A morning's work added: citizen messages, posts in every state, a failed publication.")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        if result["created_users"] and not password:
            self.stdout.write(f"Demo users created with the default password '{DEFAULT_PASSWORD}'.")
        where = "DEMO_PASSWORD" if password else f"'{DEFAULT_PASSWORD}' unless changed"
        self.stdout.write(f"Demo logins (password: {where}):")
        for u in USERS:
            self.stdout.write(f"  {u['username']:<6} {u['role']}")
        self.stdout.write("  admin  superuser, for /admin/")
