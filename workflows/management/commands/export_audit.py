import csv
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from workflows.csvsafe import csv_cell
from workflows.services.audit import audit_rows

from .verify_audit import _parse_since

FIELDS = ["id", "chain", "seq", "post", "inbound", "actor", "verb", "from_state", "to_state",
          "revision", "data", "created_at", "prev_hash", "hash", "key_id"]


class Command(BaseCommand):
    help = "Export audit events (for an access-to-information request) as JSON or CSV."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--post", type=int, help="events of this post")
        group.add_argument("--since", help="events since this date or date-time")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, post=None, since=None, format="json", output=None, **options):
        rows = audit_rows(post_id=post, since=_parse_since(since) if since else None)
        try:
            out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        try:
            if format == "json":
                json.dump(list(rows), out, ensure_ascii=False, indent=2)
                out.write("\n")
            else:
                writer = csv.DictWriter(out, fieldnames=FIELDS)
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: csv_cell(v) for k, v in
                                     {**row, "data": json.dumps(row["data"], ensure_ascii=False)}.items()})
        finally:
            if output:
                out.close()
            else:
                sys.stdout.flush()
