from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiToken
from accounts.services import token_revoke

from .issue_token import _operator


class Command(BaseCommand):
    help = "Revoke an API token by its prefix (the first 12 characters of the key) or id."

    def add_arguments(self, parser):
        parser.add_argument("token", help="the token's prefix (prl_...) or numeric id")
        parser.add_argument("--by", default="", help="the operator revoking it (recorded in the audit trail)")

    def handle(self, *args, token, by="", **options):
        qs = ApiToken.objects.filter(id=int(token)) if token.isdigit() else ApiToken.objects.filter(prefix=token[:12])
        matches = list(qs.values_list("id", flat=True)[:2])
        if len(matches) != 1:
            raise CommandError(f"No single token matches {token!r}.")
        if token_revoke(token_id=matches[0], by=_operator(by), via="manage.py revoke_token"):
            self.stdout.write(f"Token {token} revoked.")
        else:
            self.stdout.write(f"Token {token} was already revoked.")
