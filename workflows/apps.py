from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self):
        from config.health import EXTRA_CHECKS

        from . import checks  # noqa: F401  (registers the audit key's deploy check)
        from .services import security_audit
        from .services.relay import outbox_check

        # Security-relevant changes (webhooks, channels, permissions, membership, tokens) are
        # audit events whatever path makes them (docs/audit.md).
        security_audit.connect()

        # /readyz shows the outbox relay's lag (age of the oldest undispatched event).
        EXTRA_CHECKS.setdefault("outbox", outbox_check)
