"""Gunicorn settings: one command line everywhere (docker/Dockerfile, Procfile, `make web` and
tests/production/test_gunicorn.py):  gunicorn config.wsgi -c config/gunicorn.py

Environment: HOST (default 127.0.0.1; the image sets 0.0.0.0), PORT (8000), WEB_CONCURRENCY
(worker processes, 2), GUNICORN_THREADS (threads per worker, 4), GUNICORN_TIMEOUT (30 s),
FORWARDED_ALLOW_IPS (proxies trusted for X-Forwarded-*, gunicorn's own variable).
"""
import os

from gunicorn.glogging import Logger

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
accesslog = "-"
# Outside approvers' links (/o/<token>/) are credentials: every access and error log line goes
# through config.logging's redaction (issue 20; tests/production/test_gunicorn.py reads the log).
logger_class = "config.gunicorn.RedactingLogger"
# Bound request lines and headers (gunicorn's defaults, stated); bodies are bounded by Django
# (DATA_UPLOAD_MAX_MEMORY_SIZE, config/edges.py).
limit_request_line = 4094
limit_request_fields = 100

# --- garbage collection (issue 14) ------------------------------------------------------------
# A worker holds ~120,000 objects once Django, DRF and the URL conf are loaded. With CPython's
# default thresholds (700, 10, 10) a full collection walks all of them every ~100 young
# collections — 40–90 ms, landing on one request in fifteen or so: the lists' p95 spikes were
# these pauses (measured with gc.callbacks in the lists bench, issue 14 round 4). After the app is
# loaded, freeze what start-up allocated (it lives as long as the process: the collector need
# never look at it again) and collect the young generation every 10,000 net allocations rather
# than 700, so a request's short-lived cycles are found in fewer, still short, passes (~2 ms).
# Larger thresholds trade those for rarer but longer pauses (50,000: ~20 ms, back in the p95).
GC_THRESHOLD = (10_000, 10, 10)


def gc_tune(*, urls: bool = True) -> None:
    """Collect once, move every object that survives into the permanent generation, and set
    GC_THRESHOLD. Run after the application is loaded (post_worker_init; each Celery worker
    process at worker_process_init, without the URL conf); the bench calls it too, so that it
    measures what production runs."""
    import gc
    from importlib import import_module

    from django.conf import settings

    if urls:
        import_module(settings.ROOT_URLCONF)  # views, serializers, forms: loaded now, then frozen
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def post_worker_init(worker) -> None:
    """Gunicorn calls this in each worker once it has loaded the WSGI application."""
    gc_tune()


class RedactingLogger(Logger):
    """Gunicorn's logger with outside links redacted from the access log's atoms (the request
    line, the path, the query, the referer and every header) and from the error log."""

    def setup(self, cfg) -> None:
        from config.logging import RedactLinksFilter

        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactLinksFilter) for f in log.filters):
                log.addFilter(RedactLinksFilter())

    def atoms(self, resp, req, environ, request_time) -> dict:
        from config.logging import redact

        return {key: redact(value) if isinstance(value, str) else value
                for key, value in super().atoms(resp, req, environ, request_time).items()}
