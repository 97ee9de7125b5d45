from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import token_issue


class Command(BaseCommand):
    help = "Issue an API token for USERNAME and print its key once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label for the token")
        parser.add_argument("--by", default="", help="the operator issuing it (recorded in the audit trail)")

    def handle(self, *args, username, name, by="", **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        operator = _operator(by)
        _, key = token_issue(user=user, name=name, by=operator, via="manage.py issue_token")
        self.stdout.write(key)


def _operator(username: str):
    if not username:
        return None
    operator = User.objects.filter(username=username).first()
    if operator is None:
        raise CommandError(f"No user named {username!r} (--by).")
    return operator
