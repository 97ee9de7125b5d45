from django.core.management.base import BaseCommand

from workflows.services.audit import audit_checkpoint


class Command(BaseCommand):
    help = (
        "Write signed checkpoints of every audit chain that grew since its last one (what the "
        "beat task parley.audit_checkpoint does). Exit 1 when a chain no longer verifies."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="look at every chain, not only recent ones")

    def handle(self, *args, full=False, **options):
        counts = audit_checkpoint(full=full)
        self.stdout.write(
            f"Checkpoints written: {counts['written']}, unchanged: {counts['unchanged']}, refused: {counts['refused']}."
        )
        if counts["refused"]:
            from django.core.management.base import CommandError

            raise CommandError(f"{counts['refused']} chain(s) do not verify: run verify_audit.")
