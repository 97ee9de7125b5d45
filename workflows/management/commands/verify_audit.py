from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from workflows.services.audit import FINDING_KINDS, audit_verify_report


class Command(BaseCommand):
    help = (
        "Verify the audit trail: every chain's hashes and links, its end against its anchor "
        "(the post's or message's head, or the chain head) and its signed checkpoints, and "
        "anchors or checkpoints whose chain is gone. Reports every finding per chain; exit 1 on any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="only chains with events since this date or time")

    def handle(self, *args, since=None, **options):
        when = _parse_since(since) if since else None
        report = audit_verify_report(since=when)
        if report.ok:
            self.stdout.write(self.style.SUCCESS(
                f"Audit trail intact: {report.events_checked} events in {report.chains_checked} chains verified."
            ))
            return
        for chain, findings in report.by_chain().items():
            self.stdout.write(f"{chain}:")
            for f in findings:
                where = f" seq {f.seq}" if f.seq is not None else ""
                event = f" (event id {f.event_id})" if f.event_id else ""
                self.stdout.write(f"  {f.kind}{where}{event}: {f.detail}")
        kinds = sorted({f.kind for f in report.findings}, key=list(FINDING_KINDS).index)
        first = report.findings[0]
        raise CommandError(
            f"Audit trail NOT intact: {len(report.findings)} finding(s) in {len(report.by_chain())} chain(s) "
            f"({', '.join(kinds)}); first at {first.chain}"
            + (f" seq {first.seq}" if first.seq is not None else "")
            + f". {report.events_checked} events checked."
        )


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
