from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self):
        from config.health import EXTRA_CHECKS

        from .services.relay import outbox_check

        # /readyz shows the outbox relay's lag (age of the oldest undispatched event).
        EXTRA_CHECKS.setdefault("outbox", outbox_check)
