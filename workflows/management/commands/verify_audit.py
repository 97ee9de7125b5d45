from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from workflows.services.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chains; report the first broken link (exit 1)."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="only chains with events since this date or time")

    def handle(self, *args, since=None, **options):
        when = _parse_since(since) if since else None
        checked, broken = audit_verify(since=when)
        if broken:
            raise CommandError(
                f"Audit chain broken at {broken.chain} seq {broken.seq} (event id {broken.event_id}): "
                f"{broken.reason}. {checked} events checked."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {checked} events verified."))


def _parse_since(value: str):
    from datetime import datetime, time

    from django.utils import timezone

    dt = parse_datetime(value)
    if dt is None:
        d = parse_date(value)
        if d is None:
            raise CommandError(f"--since: not a date or date-time: {value!r}")
        dt = datetime.combine(d, time.min)
    if timezone.is_naive(dt):
        dt = timezone.make_aware(dt)
    return dt
