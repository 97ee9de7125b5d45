"""Prometheus metrics for operations: `GET /prometheus` (text exposition format).

Access: refused (404) unless PROMETHEUS_TOKEN or PROMETHEUS_ALLOWED_NETWORKS is set. With a token,
the scraper sends `Authorization: Bearer <token>` (401 otherwise); with networks, the client
address must be in one of them (403 otherwise); with both, both must hold.

What it exports:
- parley_http_request_duration_seconds{method,route,status}: request latencies (this middleware;
  per process — set PROMETHEUS_MULTIPROC_DIR for gunicorn's several workers, prometheus-client's
  multiprocess mode);
- parley_outbox_lag_seconds, parley_outbox_pending: the relay's lag and depth;
- parley_publications{status,platform}: publications by state and platform;
- parley_posts{state}: posts by state (parley_posts{state="in_review"} is the approval queue);
- parley_reply_first_response_seconds{quantile}, _count: first-response time over the last 24 h;
- parley_celery_queue_length{queue}: messages waiting in each Celery queue (Redis LLEN);
- parley_celery_tasks_total{task,state} and parley_celery_task_duration_seconds_{sum,count}{task}:
  Celery task metrics, counted by signal handlers in every worker process into one Redis hash
  (so prefork children and several workers add up without a port per process).
Everything read from the database is read at scrape time with aggregate queries (GROUP BY, no
rows loaded), so a scrape costs the same at 100k posts as at 10.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger("parley.prometheus")

REQUEST_LATENCY = Histogram(
    "parley_http_request_duration_seconds", "HTTP request latency.", ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TASKS_KEY = "parley:metrics:celery"
CELERY_QUEUES = ("celery", "notify", "publish")


class RequestMetricsMiddleware:
    """Observe each request's latency, labelled by its URL pattern (bounded cardinality)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route if match is not None else "") or "unmatched"
        REQUEST_LATENCY.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


def _allowed(request) -> None:
    token = settings.PROMETHEUS_TOKEN
    networks = settings.PROMETHEUS_ALLOWED_NETWORKS
    if not token and not networks:
        raise Http404("metrics are disabled")
    if token:
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            response = HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="parley-metrics"'
            raise _Refused(response)
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            address = None
        if address is None or not any(address in ipaddress.ip_network(n, strict=False) for n in networks):
            raise _Refused(HttpResponse("not from an allowed network\n", status=403, content_type="text/plain"))


class _Refused(Exception):
    def __init__(self, response):
        self.response = response


class ParleyCollector:
    """Gauges read from PostgreSQL and Redis at scrape time."""

    def collect(self):
        from django.db.models import Count

        from workflows.models import InboundMessage, Post, Publication
        from workflows.services.relay import outbox_lag

        lag = outbox_lag()
        yield GaugeMetricFamily("parley_outbox_lag_seconds", "Age of the oldest due, undispatched outbox event.",
                                value=lag["lag_seconds"])
        yield GaugeMetricFamily("parley_outbox_pending", "Outbox events due and not dispatched.", value=lag["pending"])
        pubs = GaugeMetricFamily("parley_publications", "Publications by status and platform.",
                                 labels=["status", "platform"])
        for status, platform, n in (Publication.objects.order_by().values_list("status", "channel__platform")
                                    .annotate(n=Count("id"))):
            pubs.add_metric([status, platform], n)
        yield pubs
        posts = GaugeMetricFamily("parley_posts", "Posts by state.", labels=["state"])
        for state, n in Post.objects.order_by().values_list("state").annotate(n=Count("id")):
            posts.add_metric([state], n)
        yield posts
        from django.db.models import DurationField, ExpressionWrapper, F
        from django.utils import timezone

        since = timezone.now() - timedelta(hours=24)
        frt = sorted(
            d.total_seconds() for d in InboundMessage.objects.filter(
                first_response_at__isnull=False, first_response_at__gte=since)
            .annotate(frt=ExpressionWrapper(F("first_response_at") - F("received_at"), output_field=DurationField()))
            .order_by("frt").values_list("frt", flat=True)[:100_000]
        )
        summary = SummaryMetricFamily("parley_reply_first_response_seconds",
                                      "First-response time of messages answered in the last 24 h.",
                                      count_value=len(frt), sum_value=sum(frt))
        yield summary
        quantiles = GaugeMetricFamily("parley_reply_first_response_quantile_seconds",
                                      "First-response time quantiles over the last 24 h.", labels=["quantile"])
        for q in (0.5, 0.9, 0.99):
            if frt:
                quantiles.add_metric([str(q)], frt[min(len(frt) - 1, int(q * len(frt)))])
        yield quantiles
        yield from _redis_metrics()


_clients: dict[str, object] = {}


def _redis_client():
    """One client (and connection pool) per broker URL and process: a task's metrics cost one
    pipelined round trip, not a new TCP connection (redis-py resets the pool in a forked child)."""
    import redis

    url = settings.CELERY_BROKER_URL
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return client


def _redis_metrics():
    client = _redis_client()
    if client is None:
        return
    try:
        lengths = {q: client.llen(q) for q in CELERY_QUEUES}
        tasks = client.hgetall(TASKS_KEY)
    except Exception as exc:  # noqa: BLE001 - Redis down: say so, export the rest
        yield GaugeMetricFamily("parley_broker_up", "1 when the broker answered the scrape.", value=0)
        log.warning("prometheus: broker unavailable", extra={"error": exc.__class__.__name__})
        return
    yield GaugeMetricFamily("parley_broker_up", "1 when the broker answered the scrape.", value=1)
    queues = GaugeMetricFamily("parley_celery_queue_length", "Messages waiting in each Celery queue.", labels=["queue"])
    for q, n in lengths.items():
        queues.add_metric([q], n)
    yield queues
    counts = CounterMetricFamily("parley_celery_tasks", "Celery tasks finished, by task and outcome.",
                                 labels=["task", "state"])
    sums = GaugeMetricFamily("parley_celery_task_duration_seconds_sum", "Total seconds spent in each task.",
                             labels=["task"])
    runs = GaugeMetricFamily("parley_celery_task_duration_seconds_count", "Runs of each task timed.", labels=["task"])
    for raw_key, raw_value in sorted(tasks.items()):
        key, value = raw_key.decode(), float(raw_value)
        kind, _, rest = key.partition("|")
        if kind == "state":
            task, _, state = rest.rpartition("|")
            counts.add_metric([task, state], value)
        elif kind == "sum":
            sums.add_metric([rest], value)
        elif kind == "count":
            runs.add_metric([rest], value)
    yield counts
    yield sums
    yield runs


def prometheus_view(request):
    try:
        _allowed(request)
    except _Refused as refused:
        return refused.response
    registry = CollectorRegistry()
    registry.register(ParleyCollector())
    body = generate_latest(registry)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
        body += generate_latest(process_registry)
    else:
        from prometheus_client import REGISTRY

        body += generate_latest(REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


# --- Celery task metrics (connected in config/celery.py) ---------------------------------------

_started: dict[str, float] = {}


def task_started(task_id=None, **kwargs) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


def task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    began = _started.pop(task_id, None) if task_id else None
    name = getattr(task, "name", None) or "unknown"
    client = _redis_client()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        pipe.hincrby(TASKS_KEY, f"state|{name}|{state or 'UNKNOWN'}", 1)
        if began is not None:
            pipe.hincrbyfloat(TASKS_KEY, f"sum|{name}", time.perf_counter() - began)
            pipe.hincrby(TASKS_KEY, f"count|{name}", 1)
        pipe.execute()
    except Exception:  # noqa: BLE001 - metrics never break a task
        log.debug("celery task metrics not recorded", exc_info=True)
