from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from config.health import EXTRA_CHECKS

        from . import (
            checks,  # noqa: F401  (registers the audit key's deploy check)
            tasks,
        )
        from .services import atip, engagement, outbox, relay, security_audit

        # Services hand work to Celery through functions registered here, never by importing
        # tasks.py (an arrow from the core up to an edge; docs/architecture.md).
        relay.relay_register_enqueue(tasks.enqueue_event)
        relay.relay_register_enqueue_many(tasks.enqueue_events)
        engagement.engagement_register_enqueue(tasks.enqueue_engagement)
        outbox.outbox_register_relay(relay.relay_outbox)
        atip.atip_register_enqueue(tasks.enqueue_atip_export)

        # Security-relevant changes (webhooks, channels, permissions, membership, tokens) are
        # audit events whatever path makes them (docs/audit.md).
        security_audit.connect()

        # /readyz shows the outbox relay's lag (age of the oldest undispatched event).
        EXTRA_CHECKS.setdefault("outbox", relay.outbox_check)
