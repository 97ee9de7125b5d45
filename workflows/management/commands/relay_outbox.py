"""Relay the outbox once, or in a loop (an alternative to the beat task)."""
from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from workflows.services.relay import outbox_lag, relay_outbox


class Command(BaseCommand):
    help = "Relay due outbox events to Celery (SELECT … FOR UPDATE SKIP LOCKED; safe to run several)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep relaying until interrupted.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between empty runs.")
        parser.add_argument("--batch", type=int, default=None)
        parser.add_argument("--listen", action="store_true",
                            help="Relay on every NOTIFY parley_outbox (PostgreSQL) until interrupted.")

    def handle(self, *args, loop=False, interval=1.0, batch=None, listen=False, **options):
        if listen:
            import threading

            from workflows.relay_listener import listen_forever, listen_supported

            if not listen_supported():
                self.stderr.write("--listen needs PostgreSQL and OUTBOX_LISTEN=true")
                return
            stop = threading.Event()
            try:
                listen_forever(stop)
            except KeyboardInterrupt:
                stop.set()
            return
        total = 0
        while True:
            n = relay_outbox(batch=batch)
            total += n
            if not loop:
                if n and batch is None:
                    continue  # drain what is due, then stop
                break
            if n == 0:
                time.sleep(interval)
        lag = outbox_lag()
        self.stdout.write(f"relayed {total} events; {lag['pending']} pending, lag {lag['lag_seconds']} s")
